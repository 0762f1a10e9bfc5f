"""Money: Decimal amounts beside a currency code, rounded half-up to the currency's minor unit."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 minor units for the currencies the portal offers; anything else has two.
MINOR_UNITS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3}
CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD", "CHF", "SEK", "NOK", "DKK", "JPY", "INR", "BRL", "KWD")


def minor_units(currency: str) -> int:
    return MINOR_UNITS.get(currency.upper(), 2)


def quantize(amount: Decimal | int | str, currency: str) -> Decimal:
    """Round to the currency's minor unit, half away from zero (1.005 USD -> 1.01)."""
    try:
        value = Decimal(str(amount)) if not isinstance(amount, Decimal) else amount
    except InvalidOperation as err:
        raise ValueError(f"not an amount: {amount!r}") from err
    return value.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def format_amount(amount: Decimal | None, currency: str | None) -> str:
    """1234.5, "USD" -> "1,234.50 USD"."""
    if amount is None:
        return "—"
    currency = (currency or "USD").upper()
    places = minor_units(currency)
    return f"{quantize(amount, currency):,.{places}f} {currency}"
