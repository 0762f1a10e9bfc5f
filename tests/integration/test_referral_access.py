"""Partner A never sees partner B's referrals; partners never act as the vendor."""
from __future__ import annotations

import re

import pytest

from portal.extensions import db as _db

from tests.factories import OrganizationFactory, ReferralFactory, partner_user


def _urls_with_referral_id(app, blueprint: str) -> list[tuple[str, str]]:
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(f"{blueprint}.") and "referral_id" in rule.arguments:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                urls.append((method, rule.rule))
    return urls


@pytest.mark.parametrize("role", ["partner_admin", "partner_user"])
def test_partner_b_gets_404_on_partner_a_referral_pages_and_actions(app, client, db, role):
    referral = ReferralFactory()
    client.login(partner_user(role=role))
    urls = _urls_with_referral_id(app, "partner") + _urls_with_referral_id(app, "internal")
    assert len(urls) >= 8
    for method, rule in urls:
        path = re.sub(r"<int:referral_id>", str(referral.id), rule)
        response = client.get(path) if method == "GET" else client.open(
            path, method=method, data={"csrf_token": client.csrf_token(), "reject-reason": "x", "won-amount": "1"})
        assert response.status_code == 404, f"{method} {path}: {response.status_code}"
    assert referral.stage == "submitted"


def test_partner_b_does_not_see_partner_a_referrals_in_lists(client, db):
    mine = ReferralFactory(company_name="Mine Inc")
    theirs = ReferralFactory(company_name="Theirs Inc")
    client.login(mine.submitted_by)
    html = client.get("/partner/referrals").get_data(as_text=True)
    assert "Mine Inc" in html and "Theirs Inc" not in html
    assert client.get(f"/partner/referrals/{theirs.id}").status_code == 404


def test_partner_users_see_their_own_unless_the_admin_shares_the_organization(client, db):
    org = OrganizationFactory()
    me, colleague = partner_user(organization=org), partner_user(organization=org)
    admin = partner_user(role="partner_admin", organization=org)
    ReferralFactory(partner_org=org, submitted_by=me, company_name="Mine Inc")
    theirs = ReferralFactory(partner_org=org, submitted_by=colleague, company_name="Colleague Inc")
    client.login(me)
    assert "Colleague Inc" not in client.get("/partner/referrals").get_data(as_text=True)
    assert client.get(f"/partner/referrals/{theirs.id}").status_code == 404
    client.submit("/logout")

    client.login(admin)
    assert "Colleague Inc" in client.get("/partner/referrals").get_data(as_text=True)
    assert client.submit("/partner/team/sharing", {"members_see_all_referrals": "y"}).status_code == 303
    client.submit("/logout")

    client.login(me)
    assert "Colleague Inc" in client.get("/partner/referrals").get_data(as_text=True)
    assert client.get(f"/partner/referrals/{theirs.id}").status_code == 200


def test_partner_cannot_answer_another_resellers_lead(client, db):
    from portal.models import Lead
    from portal.models.types import utcnow
    from datetime import timedelta

    lead = Lead(referral=ReferralFactory(), assigned_org=OrganizationFactory(), respond_by=utcnow() + timedelta(days=2))
    _db.session.add(lead)
    _db.session.commit()
    client.login(partner_user(role="partner_admin"))
    assert client.get(f"/partner/leads/{lead.id}").status_code == 404
    assert client.submit(f"/partner/leads/{lead.id}/accept").status_code == 404
    assert lead.status == "new"
