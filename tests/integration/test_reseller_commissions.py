"""Reseller plans: a won deal registration pays its reseller, apart from any referral plan."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from portal.extensions import db as _db
from portal.models import Commission, CommissionPlan
from portal.services import commissions

from tests.factories import CommissionPlanFactory, DealRegistrationFactory, OrganizationFactory, internal_user


def test_a_reseller_plan_pays_the_reseller_of_a_won_deal_and_never_a_referrer(db):
    reseller = OrganizationFactory(tier="gold")
    CommissionPlanFactory(tier="gold", percent=Decimal("10"), name="Referrers")
    CommissionPlanFactory(tier="gold", percent=Decimal("4"), name="Resellers", audience="reseller")
    assert commissions.plan_for(reseller).name == "Referrers"
    assert commissions.plan_for(reseller, "reseller").name == "Resellers"
    deal = DealRegistrationFactory(partner_org=reseller, status="won", won_amount=Decimal("50000"), currency="USD",
                                   won_at=datetime(2027, 1, 5, tzinfo=timezone.utc))
    commission = commissions.create_for_deal(deal)
    _db.session.commit()
    assert (commission.amount, commission.currency, commission.referral_id, commission.partner_org_id) == (
        Decimal("2000.000"), "USD", None, reseller.id)
    assert commissions.create_for_deal(deal) is commission  # counted once
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(Commission)) == 1


def test_admins_create_a_reseller_plan_and_the_list_tells_the_plans_apart(client, db):
    client.login(internal_user("admin"))
    response = client.submit("/internal/commissions/plans/new", {
        "name": "Gold resellers", "kind": "percent", "percent": "3", "currency": "USD", "tier": "gold",
        "organization_id": "0", "audience": "reseller"})
    assert response.status_code == 303, response.get_data(as_text=True)[:600]
    plan = _db.session.scalars(_db.select(CommissionPlan)).one()
    assert plan.audience == "reseller"
    assert "Resellers" in client.get("/internal/commissions/plans").get_data(as_text=True)
