"""The access matrix of the deal pages: another partner organization's user gets 404 on every new route."""
from __future__ import annotations

import pytest

from portal.extensions import db as _db
from portal.models import Lead
from portal.services import referrals

from tests.conftest import routes_of
from tests.factories import DealRegistrationFactory, OrganizationFactory, ReferralFactory, internal_user, partner_user



@pytest.mark.parametrize("role", ["partner_admin", "partner_user"])
def test_another_partners_user_gets_404_on_every_deal_and_lead_route(app, client, db, role):
    reseller = OrganizationFactory()
    deal = DealRegistrationFactory(partner_org=reseller)
    referral = ReferralFactory()
    referrals.route_to_reseller(referral, by=internal_user("manager"), reseller=reseller)
    lead = _db.session.scalars(_db.select(Lead)).one()
    assert deal.id and lead.id
    client.login(partner_user(role=role))  # of another organization
    checked = 0
    for method, path in routes_of(app, "partner"):
        if "/1" not in path or not path.startswith(("/partner/deals", "/partner/leads")):
            continue
        path = path.replace("/deals/1", f"/deals/{deal.id}").replace("/leads/1", f"/leads/{lead.id}")
        response = client.get(path) if method == "GET" else client.open(
            path, method=method, data={"csrf_token": client.csrf_token()})
        assert response.status_code == 404, f"{method} {path} answered {response.status_code}"
        checked += 1
    assert checked >= 6
    assert client.get(f"/partner/deals/new?lead_id={lead.id}").status_code == 404
    assert deal.number not in client.get("/partner/deals").get_data(as_text=True)


def test_partners_get_404_on_the_internal_deal_and_settings_routes(app, client, db):
    DealRegistrationFactory()
    client.login(partner_user("partner_admin"))
    paths = [(m, p) for m, p in routes_of(app, "internal") if "deal" in p or "lead-rules" in p or "distributors" in p]
    assert len(paths) >= 12
    for method, path in paths:
        response = client.get(path) if method == "GET" else client.open(
            path, method=method, data={"csrf_token": client.csrf_token()})
        assert response.status_code == 404, f"{method} {path} answered {response.status_code}"
