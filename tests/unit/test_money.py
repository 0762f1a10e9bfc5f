"""Money rounds half-up to the currency's minor unit."""
from __future__ import annotations

from decimal import Decimal

import pytest

from portal import money


@pytest.mark.parametrize("amount, currency, expected", [
    ("1.005", "USD", Decimal("1.01")),
    ("1.004", "USD", Decimal("1.00")),
    ("2.5", "JPY", Decimal("3")),
    ("-2.5", "JPY", Decimal("-3")),
    ("1.0005", "KWD", Decimal("1.001")),
    ("10", "EUR", Decimal("10.00")),
])
def test_quantize_rounds_half_up_to_minor_units(amount, currency, expected):
    result = money.quantize(Decimal(amount), currency)
    assert result == expected and str(result) == str(expected)


def test_format_amount_groups_thousands_and_names_the_currency():
    assert money.format_amount(Decimal("1000"), "USD") == "1,000.00 USD"
    assert money.format_amount(Decimal("1234567.5"), "JPY") == "1,234,568 JPY"
    assert money.format_amount(None, "USD") == "—"


def test_not_an_amount_is_refused():
    with pytest.raises(ValueError):
        money.quantize("lots", "USD")
