"""One-time public tokens: a served form sends one referral however often it is posted, and a
deactivated partner's or user's link takes no submission (issue #15 item 5)."""
from __future__ import annotations

import pytest

from portal.blueprints.public import forms as public_forms
from portal.extensions import db as _db
from portal.models import Referral
from portal.services import links
from tests.factories import OrganizationFactory, partner_user
from tests.integration.test_links import BROWSER, PROSPECT


@pytest.fixture
def link(db, app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_FORM_MIN_SECONDS", 0)
    org = OrganizationFactory()
    return links.create(by=partner_user("partner_user", organization=org), campaign="Autumn")


def _referrals() -> int:
    return _db.session.scalar(_db.select(_db.func.count()).select_from(Referral))


def test_the_same_public_form_token_posted_twice_creates_one_referral(client, link):
    token = public_forms.issue_token(link.code)
    first = client.post(f"/r/{link.code}", data={**PROSPECT, "csrf_token": token}, headers=BROWSER)
    assert first.status_code == 303
    # A replay of the same served form, even for another prospect, is refused.
    again = client.post(f"/r/{link.code}", data={**PROSPECT, "contact_email": "other@navy.example",
                                                 "csrf_token": token}, headers=BROWSER)
    assert again.status_code == 422 and "sent already" in again.get_data(as_text=True)
    assert _referrals() == 1
    fresh = client.post(f"/r/{link.code}", data={**PROSPECT, "contact_email": "other@navy.example",
                                                 "csrf_token": public_forms.issue_token(link.code)}, headers=BROWSER)
    assert fresh.status_code == 303 and _referrals() == 2


def test_a_refused_form_keeps_its_token_for_the_corrected_post(client, link):
    token = public_forms.issue_token(link.code)
    wrong = client.post(f"/r/{link.code}", data={**PROSPECT, "contact_email": "not-an-email", "csrf_token": token},
                        headers=BROWSER)
    assert wrong.status_code == 422
    assert client.post(f"/r/{link.code}", data={**PROSPECT, "csrf_token": token}, headers=BROWSER).status_code == 303
    assert _referrals() == 1


@pytest.mark.parametrize("who", ["user", "partner"])
def test_a_deactivated_users_or_partners_link_is_the_friendly_404_and_stores_nothing(client, link, who):
    if who == "user":
        link.user.active = False
    else:
        link.partner_org.status = "inactive"
    _db.session.commit()
    for path in (f"/r/{link.code}", f"/r/{link.code}/embed"):
        page = client.get(path, headers=BROWSER)
        assert page.status_code == 404 and "This link does not work anymore" in page.get_data(as_text=True)
        posted = client.post(path, data={**PROSPECT, "csrf_token": public_forms.issue_token(link.code)},
                             headers=BROWSER)
        assert posted.status_code == 404
    assert _referrals() == 0
