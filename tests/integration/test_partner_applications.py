"""Partner sign-up: a company applies on the public program page; an internal user approves or rejects."""
from __future__ import annotations

import pytest

from portal.blueprints.public import forms as public_forms
from portal.extensions import db as _db
from portal.models import Organization, PartnerApplication, ReferralLink, User

from tests.conftest import extract_link
from tests.factories import OrganizationFactory, internal_user, partner_user
from tests.integration.conftest import body

APPLY = "/partners/apply"
APPLICANT = {"company_name": "Contoso Consulting", "domain": "https://www.Contoso.example/about", "country": "de",
             "contact_name": "Carla Contoso", "contact_email": "Carla@Contoso.example",
             "offering": "IT consulting for mid-sized manufacturers.", "consent": "y"}
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"}


@pytest.fixture
def instant(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_FORM_MIN_SECONDS", 0)


def apply(client, data: dict | None = None, **kwargs):
    return client.post(APPLY, data={**(APPLICANT if data is None else data),
                                    "csrf_token": public_forms.issue_token(public_forms.APPLY_SCOPE)},
                       headers=BROWSER, **kwargs)


def count(model) -> int:
    return _db.session.scalar(_db.select(_db.func.count()).select_from(model))


def test_apply_approve_invite_and_the_first_sign_in_shows_a_link(client, db, instant, smtp_server, run_jobs):
    page = client.get(APPLY)
    assert page.status_code == 200 and "Become a" in page.get_data(as_text=True)
    response = apply(client)
    assert response.status_code == 303 and response.location.endswith("/partners/apply/thanks")
    [application] = _db.session.scalars(_db.select(PartnerApplication))
    assert (application.status, application.domain, application.country, application.contact_email) == \
        ("pending", "contoso.example", "DE", "carla@contoso.example")
    assert count(Organization) == 0

    manager = internal_user("manager")
    client.login(manager)
    queue = client.get("/internal/applications").get_data(as_text=True)
    assert "Contoso Consulting" in queue
    response = client.submit(f"/internal/applications/{application.id}/approve")
    assert response.status_code == 303
    org = _db.session.scalar(_db.select(Organization).where(Organization.name == "Contoso Consulting"))
    assert (org.kind, org.status, org.domain, org.country) == ("partner", "active", "contoso.example", "DE")
    admin = _db.session.scalar(_db.select(User).where(User.email == "carla@contoso.example"))
    assert admin.role == "partner_admin" and admin.organization_id == org.id and admin.invitation_pending
    [link] = _db.session.scalars(_db.select(ReferralLink).where(ReferralLink.user_id == admin.id))
    assert link.active and link.partner_org_id == org.id
    _db.session.refresh(application)
    assert application.status == "approved" and application.organization_id == org.id
    # Deciding twice does nothing.
    assert client.submit(f"/internal/applications/{application.id}/approve").status_code == 422
    assert count(Organization) == 2  # the vendor's and the new partner's
    client.submit("/logout")

    run_jobs()
    [message] = smtp_server.to("carla@contoso.example")
    path = extract_link(body(message), "/invitation/").removeprefix("http://portal.test")
    assert client.submit(path, {"password": "carla-secret-pass", "confirm": "carla-secret-pass"}).status_code == 303
    client.login(admin, password="carla-secret-pass")
    dashboard = client.get("/partner/").get_data(as_text=True)
    assert "Your referral link" in dashboard and f"/r/{link.code}" in dashboard
    # The link works for prospects at once.
    assert client.get(f"/r/{link.code}", headers=BROWSER).status_code == 200


def test_a_rejected_application_creates_nothing_and_the_applicant_is_told_why(client, db, instant, smtp_server,
                                                                                 run_jobs):
    apply(client)
    application = _db.session.scalar(_db.select(PartnerApplication))
    client.login(internal_user("admin"))
    without_reason = client.submit(f"/internal/applications/{application.id}/reject", {"reason": "  "})
    assert without_reason.status_code == 422 and "Give the applicant a reason." in without_reason.get_data(as_text=True)
    response = client.submit(f"/internal/applications/{application.id}/reject",
                             {"reason": "We only work with partners in the EU for now."})
    assert response.status_code == 303
    _db.session.refresh(application)
    assert application.status == "rejected"
    assert count(Organization) == 1 and count(ReferralLink) == 0  # only the admin's vendor organization
    assert _db.session.scalar(_db.select(User).where(User.email == "carla@contoso.example")) is None
    run_jobs()
    [message] = smtp_server.to("carla@contoso.example")
    assert "We only work with partners in the EU for now." in body(message)
    assert client.submit(f"/internal/applications/{application.id}/approve").status_code == 422
    assert count(Organization) == 1


@pytest.mark.parametrize("field, value, message", [
    ("contact_email", "not-an-email", "Enter a valid email address"),
    ("company_name", "", "Tell us your company&#39;s name."),
    ("offering", "", "Tell us briefly what your company offers."),
    ("country", "Germany", "Use the two-letter code"),
    ("domain", "not a domain", "Enter your company&#39;s website"),
    ("consent", "", "Please agree to be contacted"),
])
def test_bad_input_gets_a_clear_error_and_keeps_what_was_typed(client, db, instant, field, value, message):
    data = {**APPLICANT, field: value}
    if not value and field == "consent":
        data.pop("consent")
    response = apply(client, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    assert "Carla Contoso" in html
    assert count(PartnerApplication) == 0


def test_bots_get_nowhere(client, db, app, monkeypatch):
    # The honeypot: answered like a success, nothing stored.
    monkeypatch.setitem(app.config, "PUBLIC_FORM_MIN_SECONDS", 0)
    assert apply(client, {**APPLICANT, "homepage": "http://spam.example"}).status_code == 303
    # A forged or missing token, and a form sent faster than a person types.
    forged = client.post(APPLY, data={**APPLICANT, "csrf_token": "forged"}, headers=BROWSER)
    assert forged.status_code == 422 and "This form has expired" in forged.get_data(as_text=True)
    referral_token = public_forms.issue_token("refer")
    other = client.post(APPLY, data={**APPLICANT, "csrf_token": referral_token}, headers=BROWSER)
    assert other.status_code == 422
    monkeypatch.setitem(app.config, "PUBLIC_FORM_MIN_SECONDS", 3)
    quick = apply(client)
    assert quick.status_code == 422 and "That was quick!" in quick.get_data(as_text=True)
    assert count(PartnerApplication) == 0


def test_the_program_page_is_rate_limited(client, db, instant):
    statuses = [apply(client, {}).status_code for _ in range(22)]
    assert 429 in statuses and statuses[0] == 422


def test_the_same_form_sent_twice_makes_one_application(client, db, instant):
    page = client.get(APPLY).get_data(as_text=True)
    import re
    key = re.search(r'name="submission_key" type="hidden" value="([^"]+)"', page) or \
        re.search(r'id="submission_key" name="submission_key" type="hidden" value="([^"]+)"', page)
    data = {**APPLICANT, "submission_key": key.group(1)}
    assert apply(client, data).status_code == 303
    assert apply(client, data).status_code == 303
    assert count(PartnerApplication) == 1


def test_an_application_is_a_404_for_partners(client, db, instant):
    apply(client)
    application = _db.session.scalar(_db.select(PartnerApplication))
    client.login(partner_user("partner_admin", organization=OrganizationFactory()))
    for method, path in [("get", f"/internal/applications/{application.id}"), ("get", "/internal/applications"),
                         ("post", f"/internal/applications/{application.id}/approve"),
                         ("post", f"/internal/applications/{application.id}/reject")]:
        response = client.get(path) if method == "get" else client.submit(path, {"reason": "x"})
        assert response.status_code == 404, path
    _db.session.refresh(application)
    assert application.status == "pending"
