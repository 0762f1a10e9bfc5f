"""Commission arithmetic: flat or percentage, optional cap, Decimal throughout."""
from __future__ import annotations

from decimal import Decimal

import pytest

from portal.models import CommissionPlan
from portal.services import commissions


def plan(**kwargs) -> CommissionPlan:
    return CommissionPlan(**{"name": "p", "kind": "percent", "currency": "USD", **kwargs})


def test_ten_percent_of_ten_thousand_is_one_thousand():
    assert commissions.compute(plan(percent=Decimal("10")), Decimal("10000.00"), "USD") == Decimal("1000.00")


def test_percentage_rounds_half_up_to_cents():
    # 7.5 % of 33.40 = 2.505 -> 2.51
    assert commissions.compute(plan(percent=Decimal("7.5")), Decimal("33.40"), "USD") == Decimal("2.51")


def test_cap_limits_the_percentage():
    capped = plan(percent=Decimal("10"), cap_amount=Decimal("500.00"))
    assert commissions.compute(capped, Decimal("10000"), "USD") == Decimal("500.00")
    assert commissions.compute(capped, Decimal("1000"), "USD") == Decimal("100.00")


def test_flat_fee_ignores_the_amount():
    flat = plan(kind="flat", flat_amount=Decimal("250.00"))
    assert commissions.compute(flat, Decimal("999999"), "USD") == Decimal("250.00")


def test_zero_decimal_currencies_round_to_whole_units():
    assert commissions.compute(plan(percent=Decimal("12.5"), currency="JPY"), Decimal("1001"), "JPY") == Decimal("125")


@pytest.mark.parametrize("won", ["0.01", "19.99", "123456789.99"])
def test_result_is_always_decimal_with_two_places(won):
    result = commissions.compute(plan(percent=Decimal("3.333")), Decimal(won), "USD")
    assert isinstance(result, Decimal) and result.as_tuple().exponent == -2
