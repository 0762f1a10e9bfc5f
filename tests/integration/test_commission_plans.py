"""Commission plans (create, edit, which one applies) and the commissions list with its totals."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from portal.extensions import db as _db
from portal.models import Commission, CommissionPlan
from portal.services import commissions

from tests.factories import CommissionPlanFactory, OrganizationFactory, ReferralFactory, internal_user, partner_user

PLAN = {"name": "Gold 10 %", "kind": "percent", "percent": "10", "flat_amount": "", "cap_amount": "5000",
        "currency": "USD", "tier": "gold", "organization_id": "0"}


def _plan(name: str) -> CommissionPlan:
    return _db.session.scalar(_db.select(CommissionPlan).where(CommissionPlan.name == name))


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_admins_and_managers_create_and_edit_a_plan(client, db, role):
    client.login(internal_user(role))
    response = client.submit("/internal/commissions/plans/new", PLAN)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    plan = _plan("Gold 10 %")
    assert (plan.kind, plan.percent, plan.cap_amount, plan.tier, plan.organization_id) == (
        "percent", Decimal("10.000"), Decimal("5000.00"), "gold", None)
    listing = client.get("/internal/commissions/plans").get_data(as_text=True)
    assert "Gold 10 %" in listing and "10 % of the won amount" in listing and "5,000.00 USD" in listing

    edit_page = client.get(f"/internal/commissions/plans/{plan.id}/edit").get_data(as_text=True)
    assert 'value="Gold 10 %"' in edit_page and '<option selected value="gold">' in edit_page
    response = client.submit(f"/internal/commissions/plans/{plan.id}/edit",
                             {**PLAN, "name": "Gold flat", "kind": "flat", "flat_amount": "750.5", "percent": "",
                              "cap_amount": "", "currency": "EUR"})
    assert response.status_code == 303
    assert (plan.name, plan.kind, plan.flat_amount, plan.percent, plan.cap_amount, plan.currency) == (
        "Gold flat", "flat", Decimal("750.50"), None, None, "EUR")
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(CommissionPlan)) == 1


def test_sales_users_and_partners_cannot_reach_plans_or_commissions(client, db):
    client.login(internal_user("sales"))
    for url in ("/internal/commissions", "/internal/commissions/plans", "/internal/commissions/plans/new"):
        assert client.get(url).status_code == 403
    assert 'href="/internal/commissions"' not in client.get("/internal/").get_data(as_text=True)
    client.submit("/logout")
    client.login(partner_user(role="partner_admin"))
    assert client.get("/internal/commissions/plans").status_code == 404


@pytest.mark.parametrize("change, field, message", [
    ({"name": ""}, "name", "This field is required."),
    ({"percent": ""}, "percent", "Enter a percentage between 0 and 100."),
    ({"percent": "150"}, "percent", "Number must be between 0.001 and 100."),
    ({"kind": "flat", "percent": ""}, "flat_amount", "Enter the flat amount."),
    ({"kind": "flat", "flat_amount": "-5"}, "flat_amount", "Number must be between 0.01 and"),
    ({"cap_amount": "abc"}, "cap_amount", "Not a valid decimal value."),
    ({"tier": ""}, "tier", "Choose either a tier or one organization."),
    ({"currency": "XYZ"}, "currency", "Not a valid choice."),
])
def test_invalid_plans_show_the_error_next_to_the_field_and_store_nothing(client, db, change, field, message):
    client.login(internal_user("admin"))
    response = client.submit("/internal/commissions/plans/new", {**PLAN, **change})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in html and message in html
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(CommissionPlan)) == 0


def test_a_plan_for_both_a_tier_and_an_organization_is_refused(client, db):
    org = OrganizationFactory(tier="gold")
    client.login(internal_user("admin"))
    response = client.submit("/internal/commissions/plans/new", {**PLAN, "organization_id": str(org.id)})
    assert response.status_code == 422 and "Choose either a tier or one organization." in response.get_data(as_text=True)


def test_an_organizations_own_plan_beats_its_tier_plan_on_its_page_and_in_the_commission(client, db):
    org = OrganizationFactory(tier="gold", name="Northwind")
    other = OrganizationFactory(tier="gold", name="Southwind")
    CommissionPlanFactory(name="Gold tier", tier="gold", percent=Decimal("10"))
    client.login(internal_user("manager"))
    page = client.get(f"/internal/organizations/{org.id}").get_data(as_text=True)
    assert "Gold tier" in page and "The plan for the Gold tier." in page

    response = client.submit("/internal/commissions/plans/new",
                             {**PLAN, "name": "Northwind special", "kind": "flat", "flat_amount": "300", "percent": "",
                              "cap_amount": "", "tier": "", "organization_id": str(org.id)})
    assert response.status_code == 303
    assert commissions.plan_for(org).name == "Northwind special"
    assert commissions.plan_for(other).name == "Gold tier"
    page = client.get(f"/internal/organizations/{org.id}").get_data(as_text=True)
    assert "Northwind special" in page and "300.00 USD per won referral" in page and "overrides" in page

    referral = ReferralFactory(partner_org=org, status="accepted", stage="accepted")
    client.submit(f"/internal/referrals/{referral.id}/won", {"won-amount": "20000", "won-currency": "USD"})
    commission = _db.session.scalar(_db.select(Commission).where(Commission.referral_id == referral.id))
    assert (commission.amount, commission.currency) == (Decimal("300.00"), "USD")


def test_an_organization_without_a_plan_says_it_earns_nothing(client, db):
    org = OrganizationFactory(tier=None)
    client.login(internal_user("admin"))
    page = client.get(f"/internal/organizations/{org.id}").get_data(as_text=True)
    assert "No plan applies" in page and f"/internal/commissions/plans/new?organization_id={org.id}" in page


def _commission(org, amount: str, currency: str, status: str) -> Commission:
    referral = ReferralFactory(partner_org=org, status="won_payment_pending", stage="won_payment_pending",
                               won_amount=Decimal(amount) * 10, currency=currency)
    commission = Commission(referral=referral, partner_org_id=org.id, amount=Decimal(amount), currency=currency,
                            status=status, paid_at=datetime.now(timezone.utc) if status == "paid" else None)
    _db.session.add(commission)
    _db.session.commit()
    return commission


def test_commissions_list_filters_by_status_and_partner_with_totals_per_currency(client, db):
    north, south = OrganizationFactory(name="Northwind"), OrganizationFactory(name="Southwind")
    _commission(north, "100.10", "USD", "pending")
    _commission(north, "0.20", "USD", "pending")
    _commission(north, "50.00", "EUR", "paid")
    _commission(south, "1000.00", "USD", "paid")
    assert commissions.totals(status="pending") == {"USD": Decimal("100.30")}
    assert commissions.totals(partner_org_id=north.id) == {"EUR": Decimal("50.00"), "USD": Decimal("100.30")}

    client.login(internal_user("manager"))
    everything = client.get("/internal/commissions").get_data(as_text=True)
    assert "1,100.30 USD" in everything and "50.00 EUR" in everything
    pending = client.get("/internal/commissions?status=pending", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in pending and "100.30 USD" in pending and "EUR" not in pending and "Southwind" not in pending
    north_paid = client.get(f"/internal/commissions?status=paid&partner_org_id={north.id}").get_data(as_text=True)
    assert "Total in EUR" in north_paid and "Total in USD" not in north_paid
    assert "Southwind</td>" not in north_paid
