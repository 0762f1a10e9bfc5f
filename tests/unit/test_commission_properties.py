"""Properties of the commission arithmetic over amounts, currencies, rates, caps and plan kinds."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal import money
from portal.models import CommissionPlan
from portal.services import commissions

currencies = st.sampled_from(money.CURRENCIES)
amounts = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("100000000"), places=3)
percents = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("100"), places=3)
rates = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("100000"), places=8)


@st.composite
def plans(draw) -> CommissionPlan:
    currency = draw(currencies)
    kind = draw(st.sampled_from(["flat", "percent"]))
    cap = draw(st.none() | amounts.map(lambda a: money.quantize(a, currency)).filter(lambda a: a > 0))
    flat = money.quantize(draw(amounts), currency) if kind == "flat" else None
    return CommissionPlan(name="p", kind=kind, currency=currency, cap_amount=cap, flat_amount=flat,
                          percent=draw(percents) if kind == "percent" else None)


def _places(value: Decimal) -> int:
    return -value.as_tuple().exponent


@settings(max_examples=300, deadline=None)
@given(plan=plans(), won=amounts, won_currency=currencies, rate=rates)
def test_a_commission_is_never_negative_never_above_its_cap_and_in_the_plans_minor_unit(plan, won, won_currency, rate):
    result = commissions.compute(plan, won, won_currency, rate=rate)
    assert result >= 0
    if plan.cap_amount is not None:
        assert result <= plan.cap_amount          # the cap is in the plan's currency, so is the result
    assert _places(result) == money.minor_units(plan.currency)


@settings(max_examples=200, deadline=None)
@given(plan=plans(), won=amounts, won_currency=currencies)
def test_a_percentage_in_another_currency_without_a_rate_is_refused_never_taken_one_to_one(plan, won, won_currency):
    if plan.kind == "percent" and won_currency != plan.currency:
        with pytest.raises(commissions.CurrencyMismatch):
            commissions.compute(plan, won, won_currency)
    else:
        assert commissions.compute(plan, won, won_currency) >= 0


@settings(max_examples=200, deadline=None)
@given(won=amounts, percent=percents, rate=rates)
def test_converting_at_a_rate_is_the_same_as_winning_in_the_plans_currency(won, percent, rate):
    usd = CommissionPlan(name="p", kind="percent", currency="USD", percent=percent)
    assert commissions.compute(usd, won, "JPY", rate=rate) == commissions.compute(usd, won * rate, "USD")


def test_ten_percent_capped_at_ten_thousand_usd_on_a_yen_deal_is_never_ten_thousand_yen():
    plan = CommissionPlan(name="p", kind="percent", currency="USD", percent=Decimal("10"),
                          cap_amount=Decimal("10000.00"))
    # 50,000,000 JPY at 0.0067 USD/JPY = 335,000 USD; 10 % = 33,500 USD, capped at 10,000 USD.
    assert commissions.compute(plan, Decimal("50000000"), "JPY", rate=Decimal("0.0067")) == Decimal("10000.00")
    # 1,000,000 JPY = 6,700 USD; 10 % = 670 USD.
    assert commissions.compute(plan, Decimal("1000000"), "JPY", rate=Decimal("0.0067")) == Decimal("670.00")
