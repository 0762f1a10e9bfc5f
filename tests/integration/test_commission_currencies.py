"""A plan pays in its own currency: a deal won in another is converted with the admin's rate table
(rate and date recorded on the commission) or held for a person to decide; never taken 1:1."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from portal.extensions import db as _db
from portal.models import Commission

from tests.factories import CommissionPlanFactory, OrganizationFactory, ReferralFactory, internal_user, partner_user

NOON = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
YEN_WIN = {"won-amount": "50000000", "won-currency": "JPY"}


def _commission(referral) -> Commission:
    _db.session.expire_all()
    return _db.session.scalar(_db.select(Commission).where(Commission.referral_id == referral.id))


def _usd_capped_partner():
    org = OrganizationFactory(tier="gold")
    CommissionPlanFactory(name="Gold 10 %", tier="gold", kind="percent", percent=Decimal("10"),
                          cap_amount=Decimal("10000.00"), currency="USD")
    return org


def test_a_yen_win_on_a_usd_capped_plan_without_a_rate_is_held_then_decided_at_a_recorded_rate(client, db, clock):
    clock.freeze(NOON)
    org = _usd_capped_partner()
    referral = ReferralFactory(partner_org=org, status="accepted", stage="accepted", currency="JPY")
    admin = internal_user("admin")
    client.login(admin)
    assert client.submit(f"/internal/referrals/{referral.id}/won", YEN_WIN).status_code == 303
    held = _commission(referral)
    assert (held.status, held.amount, held.currency) == ("held", None, "USD")
    assert (held.source_amount, held.source_currency) == (Decimal("50000000"), "JPY")
    listing = client.get("/internal/commissions?status=held").get_data(as_text=True)
    assert referral.number in listing and "Decide" in listing and "10,000 JPY" not in listing
    # Held commissions are in no total, and cannot be paid before someone decides them.
    assert client.submit(f"/internal/referrals/{referral.id}/paid", {}).status_code in (303, 422)
    assert _commission(referral).status == "held"

    page = client.get(f"/internal/commissions/{held.id}/decide").get_data(as_text=True)
    assert "50,000,000 JPY" in page and "capped at 10,000.00 USD" in page
    response = client.submit(f"/internal/commissions/{held.id}/decide", {"rate": "0.0067", "rate_date": "2026-11-20"})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    decided = _commission(referral)
    # 50,000,000 JPY x 0.0067 = 335,000 USD; 10 % = 33,500 USD; capped at 10,000 USD.
    assert (decided.status, decided.amount, decided.currency) == ("pending", Decimal("10000.00"), "USD")
    assert (decided.fx_rate, decided.fx_rate_date) == (Decimal("0.00670000"), date(2026, 11, 20))


def test_a_yen_win_with_a_rate_in_the_table_is_converted_at_the_newest_rate_of_its_day(client, db, clock):
    clock.freeze(NOON)
    org = _usd_capped_partner()
    client.login(internal_user("manager"))
    for valid_on, rate in (("2026-11-01", "0.0070"), ("2026-11-15", "0.0066"), ("2026-11-20", "0.0068")):
        response = client.submit("/internal/commissions/rates",
                                 {"base_currency": "JPY", "quote_currency": "USD", "rate": rate, "valid_on": valid_on})
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    assert "0.0066" in client.get("/internal/commissions/rates").get_data(as_text=True)

    small = ReferralFactory(partner_org=org, status="accepted", stage="accepted", currency="JPY")
    client.submit(f"/internal/referrals/{small.id}/won", {"won-amount": "1000000", "won-currency": "JPY",
                                                           "won-won_at": "2026-11-16"})
    commission = _commission(small)
    # Won on the 16th: the rate of the 15th applies. 1,000,000 JPY x 0.0066 = 6,600 USD; 10 % = 660 USD.
    assert (commission.status, commission.amount, commission.currency) == ("pending", Decimal("660.00"), "USD")
    assert (commission.fx_rate, commission.fx_rate_date) == (Decimal("0.00660000"), date(2026, 11, 15))

    big = ReferralFactory(partner_org=org, status="accepted", stage="accepted", currency="JPY")
    client.submit(f"/internal/referrals/{big.id}/won", YEN_WIN)
    assert (_commission(big).amount, _commission(big).currency) == (Decimal("10000.00"), "USD")


def test_a_rate_entered_the_other_way_round_is_used_inverted(client, db, clock):
    clock.freeze(NOON)
    org = _usd_capped_partner()
    client.login(internal_user("admin"))
    client.submit("/internal/commissions/rates",
                  {"base_currency": "USD", "quote_currency": "JPY", "rate": "160", "valid_on": "2026-11-01"})
    referral = ReferralFactory(partner_org=org, status="accepted", stage="accepted", currency="JPY")
    client.submit(f"/internal/referrals/{referral.id}/won", {"won-amount": "1600000", "won-currency": "JPY"})
    commission = _commission(referral)
    # 1,600,000 JPY / 160 = 10,000 USD; 10 % = 1,000 USD.
    assert (commission.amount, commission.fx_rate) == (Decimal("1000.00"), Decimal("0.00625000"))


def test_the_hold_setting_holds_even_with_a_rate_and_a_partner_sees_it_being_confirmed(client, db, clock):
    clock.freeze(NOON)
    org = _usd_capped_partner()
    client.login(internal_user("admin"))
    client.submit("/internal/commissions/rates",
                  {"base_currency": "JPY", "quote_currency": "USD", "rate": "0.0067", "valid_on": "2026-11-01"})
    assert client.submit("/internal/commissions/rates/policy", {"foreign_currency": "hold"}).status_code == 303
    referral = ReferralFactory(partner_org=org, status="accepted", stage="accepted", currency="JPY")
    client.submit(f"/internal/referrals/{referral.id}/won", YEN_WIN)
    assert _commission(referral).status == "held"

    client.submit("/logout")
    client.login(partner_user("partner_admin", organization=org))
    page = client.get(f"/partner/referrals/{referral.id}").get_data(as_text=True)
    assert "Being confirmed" in page and "10,000 JPY" not in page


def test_rates_refuse_bad_input_with_a_clear_error(client, db, clock):
    clock.freeze(NOON)
    client.login(internal_user("admin"))
    same = client.submit("/internal/commissions/rates",
                         {"base_currency": "USD", "quote_currency": "USD", "rate": "1", "valid_on": "2026-11-01"})
    assert same.status_code == 422 and "two different currencies" in same.get_data(as_text=True)
    future = client.submit("/internal/commissions/rates",
                           {"base_currency": "EUR", "quote_currency": "USD", "rate": "1.1", "valid_on": "2026-12-01"})
    assert future.status_code == 422 and "today or earlier" in future.get_data(as_text=True)
    client.submit("/logout")
    client.login(internal_user("sales"))
    assert client.get("/internal/commissions/rates").status_code in (403, 404)
