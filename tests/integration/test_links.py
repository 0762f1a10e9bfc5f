"""Personalized referral links: the partner's pages, the prospect's public form, attribution, abuse."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest

from portal.blueprints.public import forms as public_forms
from portal.jobs import queues
from portal.extensions import db as _db
from portal.models import EmailMessage, LinkVisit, Notification, Referral, ReferralLink, User
from portal.models.links import new_code
from portal.models.types import utcnow
from portal.services import links, settings, sweep

from tests.factories import OrganizationFactory, ReferralLinkFactory, internal_user, partner_user
from tests.integration.conftest import body

PROSPECT = {
    "contact_first_name": "Grace", "contact_last_name": "Hopper", "contact_email": "Grace@Navy.example",
    "contact_phone": "+1 555 0100", "company_name": "Navy Systems", "notes": "We need 40 servers in the cloud.",
    "consent": "y",
}
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"}


@pytest.fixture
def instant(app, monkeypatch):
    """Forms may be sent at once (the minimum fill time has its own tests)."""
    monkeypatch.setitem(app.config, "PUBLIC_FORM_MIN_SECONDS", 0)


@pytest.fixture
def scene(db):
    org = OrganizationFactory(name="Northwind")
    jane = partner_user("partner_user", organization=org, name="Jane Doe", email="jane@northwind.example")
    admin = partner_user("partner_admin", organization=org, name="Alex Admin", email="alex@northwind.example")
    link = links.create(by=jane, campaign="Spring campaign")
    return org, jane, admin, link


def post_form(client, url: str, scope: str, data: dict | None = None, **kwargs):
    return client.post(url, data={**(PROSPECT if data is None else data),
                                  "csrf_token": public_forms.issue_token(scope)}, headers=BROWSER, **kwargs)


def referral_count() -> int:
    return _db.session.scalar(_db.select(_db.func.count()).select_from(Referral))


# ---- the prospect's form ------------------------------------------------------------------------

def test_prospect_submits_the_link_form_and_everyone_is_told(client, db, scene, instant, smtp_server, run_jobs):
    org, jane, admin, link = scene
    manager = internal_user("manager", email="max@acme.example")

    page = client.get(f"/r/{link.code}", headers=BROWSER)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Referred by <strong>Northwind</strong>" in html
    assert 'name="homepage"' in html and 'name="csrf_token"' in html
    assert "Sign out" not in html  # the prospect's layout, no portal navigation
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)

    response = client.post(f"/r/{link.code}", data={**PROSPECT, "csrf_token": token}, headers=BROWSER)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/r/{link.code}/thanks")
    assert "Thank you!" in client.get(response.headers["Location"]).get_data(as_text=True)

    referral = _db.session.scalars(_db.select(Referral)).one()
    assert (referral.source, referral.link_id, referral.submitted_by_id, referral.partner_org_id) == (
        "link", link.id, None, org.id)
    assert referral.contact_email == "grace@navy.example" and referral.attributed_via == "link"
    assert referral.first_visit_at is not None  # the visit just before, remembered by the cookie
    _db.session.refresh(link)
    assert (link.clicks, link.submissions) == (1, 1)

    run_jobs()
    [confirmation] = smtp_server.to("grace@navy.example")
    assert "Thank you for contacting" in confirmation["Subject"] and "Hello Grace" in body(confirmation)
    for address in ("jane@northwind.example", "alex@northwind.example"):
        [told] = smtp_server.to(address)
        assert "Spring campaign" in told["Subject"] and f"/partner/referrals/{referral.id}" in body(told)
    assert "New referral" in smtp_server.to(manager.email)[0]["Subject"]

    client.login(jane)
    listing = client.get("/partner/referrals").get_data(as_text=True)
    assert "Navy Systems" in listing and "via link “Spring campaign”" in listing
    detail = client.get(f"/partner/referrals/{referral.id}").get_data(as_text=True)
    assert "Via link “Spring campaign” of Jane Doe" in detail and "first visit the same day" in detail
    timeline = detail[detail.index('class="timeline"'):]
    assert "Prospect via referral link" in timeline


def _told() -> tuple[list[str], list[str]]:
    mails = sorted(_db.session.scalars(_db.select(EmailMessage.to_address)))
    notified = sorted(_db.session.scalars(_db.select(User.email).join(Notification, Notification.user_id == User.id)))
    return mails, notified


def test_the_prospect_waits_for_no_mail_the_worker_tells_everyone_once(client, db, scene, instant, run_jobs):
    internal_user("manager", email="max@acme.example")
    *_, link = scene
    assert post_form(client, f"/r/{link.code}", link.code).status_code == 303
    referral = _db.session.scalars(_db.select(Referral)).one()
    # The request wrote the referral and nothing of the telling: that is the worker's.
    assert referral.announcement_pending and _told() == ([], [])

    assert run_jobs()
    _db.session.expire_all()
    everyone = (["alex@northwind.example", "grace@navy.example", "jane@northwind.example", "max@acme.example"],
                ["alex@northwind.example", "jane@northwind.example", "max@acme.example"])
    assert _told() == everyone and not referral.announcement_pending
    # A second run of the job (a retry, a re-drive) tells no one again.
    queues.enqueue_now(links.ANNOUNCE_JOB, referral.id)
    assert run_jobs()
    assert _told() == everyone


def test_an_announcement_whose_job_was_lost_is_sent_by_the_sweep(client, db, scene, instant, run_jobs, redis_conn,
                                                                  clock):
    *_, link = scene
    assert post_form(client, f"/r/{link.code}", link.code).status_code == 303
    redis_conn.flushdb()  # Redis restarted: the queued job is gone, the referral still says it waits
    assert sweep.run()["announcements"] == 0  # a young one may still be in its queue
    clock.advance(links.ANNOUNCE_REDRIVE_AFTER + timedelta(seconds=1))
    assert sweep.run()["announcements"] == 1
    assert run_jobs()
    _db.session.expire_all()
    assert _told()[1] == ["alex@northwind.example", "jane@northwind.example"]
    assert not _db.session.scalars(_db.select(Referral)).one().announcement_pending
    assert sweep.run()["announcements"] == 0


def test_the_form_asks_the_admins_required_fields_too(client, db, scene, instant):
    *_, link = scene
    settings.update_form_fields({**settings.form_fields(), "company_country": {"shown": True, "required": True}})
    html = client.get(f"/r/{link.code}").get_data(as_text=True)
    assert 'name="company_country"' in html and 'name="estimated_value"' not in html
    response = post_form(client, f"/r/{link.code}", link.code)
    assert response.status_code == 422 and referral_count() == 0
    assert post_form(client, f"/r/{link.code}", link.code, {**PROSPECT, "company_country": "us"}).status_code == 303
    assert _db.session.scalars(_db.select(Referral)).one().company_country == "US"


def test_the_same_form_posted_twice_is_one_referral_and_one_set_of_mails(client, db, scene, instant):
    *_, link = scene
    assert post_form(client, f"/r/{link.code}", link.code).status_code == 303
    mails = _db.session.scalar(_db.select(_db.func.count()).select_from(EmailMessage))
    again = post_form(client, f"/r/{link.code}", link.code, {**PROSPECT, "contact_email": "GRACE@navy.example"})
    assert again.status_code == 303
    assert referral_count() == 1
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(EmailMessage)) == mails
    _db.session.refresh(link)
    assert link.submissions == 1
    # another person through the same link is another referral
    assert post_form(client, f"/r/{link.code}", link.code, {**PROSPECT, "contact_email": "ada@navy.example"}
                     ).status_code == 303
    assert referral_count() == 2


def test_the_same_email_a_day_later_is_a_new_referral(client, db, scene, instant):
    *_, link = scene
    post_form(client, f"/r/{link.code}", link.code)
    first = _db.session.scalars(_db.select(Referral)).one()
    first.created_at = utcnow() - timedelta(hours=25)
    _db.session.commit()
    post_form(client, f"/r/{link.code}", link.code)
    assert referral_count() == 2


def test_a_filled_honeypot_looks_like_success_and_stores_nothing(client, db, scene, instant):
    *_, link = scene
    response = post_form(client, f"/r/{link.code}", link.code, {**PROSPECT, "homepage": "http://spam.example"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/thanks")
    assert referral_count() == 0
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(EmailMessage)) == 0


def test_a_form_sent_faster_than_a_person_can_is_refused_until_sent_again(app, client, db, scene, clock,
                                                                         monkeypatch):
    *_, link = scene
    monkeypatch.setitem(app.config, "PUBLIC_FORM_MIN_SECONDS", 3)
    clock.freeze()
    token = public_forms.issue_token(link.code)
    clock.advance(2.9)
    response = client.post(f"/r/{link.code}", data={**PROSPECT, "csrf_token": token})
    assert response.status_code == 422 and "That was quick!" in response.get_data(as_text=True)
    assert token in response.get_data(as_text=True)  # the same token: its clock keeps running
    assert referral_count() == 0
    clock.advance(0.2)
    assert client.post(f"/r/{link.code}", data={**PROSPECT, "csrf_token": token}).status_code == 303
    assert referral_count() == 1


@pytest.mark.parametrize("token", ["", "forged.token.value", "other-link"])
def test_a_missing_forged_or_foreign_token_is_refused(client, db, scene, instant, token):
    *_, link = scene
    if token == "other-link":
        token = public_forms.issue_token(ReferralLinkFactory().code)
    response = client.post(f"/r/{link.code}", data={**PROSPECT, "csrf_token": token})
    assert response.status_code == 422 and "This form has expired" in response.get_data(as_text=True)
    assert referral_count() == 0


def test_an_invalid_email_is_shown_next_to_its_field(client, db, scene, instant):
    *_, link = scene
    response = post_form(client, f"/r/{link.code}", link.code, {**PROSPECT, "contact_email": "grace@"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Enter a valid email address." in html
    assert 'id="contact_email-error"' in html and referral_count() == 0


def test_consent_is_required(client, db, scene, instant):
    *_, link = scene
    response = post_form(client, f"/r/{link.code}", link.code, {k: v for k, v in PROSPECT.items() if k != "consent"})
    assert response.status_code == 422 and "Please agree to be contacted" in response.get_data(as_text=True)
    assert referral_count() == 0


# ---- rate limits ----------------------------------------------------------------------------------

def test_rapid_posts_from_one_address_get_429_after_the_limit(client, db, scene, instant):
    *_, link = scene
    statuses = [client.post(f"/r/{link.code}", data={"homepage": "x"}).status_code for _ in range(200)]
    assert statuses[:20] == [303] * 20 and set(statuses[20:]) == {429}
    limited = client.post(f"/r/{link.code}", data={})
    assert limited.status_code == 429 and "Too many requests" in limited.get_data(as_text=True)
    # the embed and the generic form share the address's budget
    assert client.post(f"/r/{link.code}/embed", data={}).status_code == 429
    assert client.post("/refer", data={}).status_code == 429
    assert client.get(f"/r/{link.code}").status_code == 200  # reading the page is not limited


def test_one_link_is_limited_across_addresses(app, client, db, scene, instant, monkeypatch):
    *_, link = scene
    other = ReferralLinkFactory()
    monkeypatch.setitem(app.config, "PUBLIC_LINK_RATE_LIMIT", "3 per minute")
    statuses = [client.post(f"/r/{link.code}", data={"homepage": "x"},
                            environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code for i in range(5)]
    assert statuses == [303, 303, 303, 429, 429]
    assert client.post(f"/r/{other.code}", data={"homepage": "x"},
                       environ_base={"REMOTE_ADDR": "10.0.1.1"}).status_code == 303


# ---- 404s: nothing stored ---------------------------------------------------------------------------

def _assert_nothing_stored(link: ReferralLink | None = None):
    assert referral_count() == 0
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(LinkVisit)) == 0
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(EmailMessage)) == 0
    if link is not None:
        _db.session.refresh(link)
        assert (link.clicks, link.submissions) == (0, 0)


@pytest.mark.parametrize("case", ["unknown", "inactive_link", "inactive_partner"])
def test_bad_codes_get_the_friendly_404_and_nothing_is_stored(client, db, instant, case):
    link = ReferralLinkFactory(active=case != "inactive_link")
    if case == "inactive_partner":
        link.partner_org.status = "inactive"
        _db.session.commit()
    code = new_code() if case == "unknown" else link.code
    for path in (f"/r/{code}", f"/r/{code}/embed"):
        page = client.get(path, headers=BROWSER)
        assert page.status_code == 404 and "This link does not work anymore" in page.get_data(as_text=True)
        assert "Set-Cookie" not in page.headers
        assert post_form(client, path, code).status_code == 404
    _assert_nothing_stored(link)


def test_generic_form_is_linked_from_the_404_page(client, db):
    html = client.get("/r/nothing-here").get_data(as_text=True)
    assert 'href="/refer"' in html


# ---- clicks ---------------------------------------------------------------------------------------

def test_clicks_count_unique_visitors(app, client, db, scene):
    *_, link = scene
    for _ in range(3):
        assert client.get(f"/r/{link.code}", headers=BROWSER).status_code == 200  # refreshes
    _db.session.refresh(link)
    assert link.clicks == 1

    other = app.test_client()
    other.get(f"/r/{link.code}", headers={"User-Agent": "Mozilla/5.0 (Macintosh) Safari/605.1"})
    other.get(f"/r/{link.code}", headers={"User-Agent": "Mozilla/5.0 (Macintosh) Safari/605.1"})
    _db.session.refresh(link)
    assert link.clicks == 2

    # a client that keeps no cookies is one visitor a day, not one per load
    for _ in range(3):
        app.test_client(use_cookies=False).get(f"/r/{link.code}", headers={"User-Agent": "NoCookies/1.0"})
    # link previews in chat apps are not visitors
    app.test_client().get(f"/r/{link.code}", headers={"User-Agent": "Slackbot-LinkExpanding 1.0"})
    _db.session.refresh(link)
    assert link.clicks == 3
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(LinkVisit)) == 3


def test_no_raw_address_is_stored(client, db, scene, instant):
    *_, link = scene
    client.get(f"/r/{link.code}", headers=BROWSER, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    post_form(client, f"/r/{link.code}", link.code, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    visit = _db.session.scalars(_db.select(LinkVisit)).one()
    assert re.fullmatch(r"[0-9a-f]{64}", visit.visitor_hash)
    referral = _db.session.scalars(_db.select(Referral)).one()
    stored = " ".join(str(getattr(referral, c.key)) for c in Referral.__table__.columns)
    assert "203.0.113.9" not in stored and "203.0.113.9" not in client.get_cookie("rp_visitor").value


# ---- attribution through the generic form ----------------------------------------------------------

def test_a_visitor_who_later_uses_the_generic_form_is_attributed_to_the_link(client, db, scene, instant):
    org, jane, _admin, link = scene
    client.get(f"/r/{link.code}", headers=BROWSER)
    cookie = client.get_cookie("rp_first_link")
    assert cookie.http_only and cookie.same_site == "Lax" and cookie.max_age == 30 * 86400
    # three days pass: the cookie still says when the first visit was
    client.set_cookie("rp_first_link", links.attribution_value(link, first_visit_at=utcnow() - timedelta(days=3)))
    response = post_form(client, "/refer", "refer")
    assert response.status_code == 303 and response.headers["Location"].endswith("/refer/thanks")
    referral = _db.session.scalars(_db.select(Referral)).one()
    assert (referral.link_id, referral.partner_org_id, referral.attributed_via) == (link.id, org.id, "cookie")
    _db.session.refresh(link)
    assert link.submissions == 1
    client.login(jane)
    detail = client.get(f"/partner/referrals/{referral.id}").get_data(as_text=True)
    assert ("Via link “Spring campaign” of Jane Doe, sent through the generic form, first visit 3 days earlier"
            in " ".join(detail.split()))


def test_the_generic_form_after_the_window_is_no_referral_and_goes_to_the_managers(client, db, scene, instant):
    *_, link = scene
    internal_user("manager", email="max@acme.example")
    client.set_cookie("rp_first_link", links.attribution_value(link, first_visit_at=utcnow() - timedelta(days=31)))
    assert post_form(client, "/refer", "refer").status_code == 303
    assert referral_count() == 0
    events = sorted(_db.session.scalars(_db.select(EmailMessage.event)))
    assert events == ["inbound_inquiry", "prospect_confirmation"]


def test_the_window_is_the_admins_choice(client, db, scene, instant):
    *_, link = scene
    settings.save("branding", {"attribution_days": 45})
    _db.session.commit()
    client.set_cookie("rp_first_link", links.attribution_value(link, first_visit_at=utcnow() - timedelta(days=31)))
    post_form(client, "/refer", "refer")
    assert _db.session.scalars(_db.select(Referral)).one().link_id == link.id


def test_the_first_link_wins_and_a_forged_cookie_is_ignored(app, client, db, scene, instant):
    *_, first = scene
    second = ReferralLinkFactory()
    client.get(f"/r/{first.code}", headers=BROWSER)
    client.get(f"/r/{second.code}", headers=BROWSER)
    post_form(client, "/refer", "refer")
    assert _db.session.scalars(_db.select(Referral)).one().link_id == first.id

    stranger = app.test_client()
    stranger.set_cookie("rp_first_link", '{"l": %d, "t": %d}' % (second.id, int(time.time())))
    post_form(stranger, "/refer", "refer", {**PROSPECT, "contact_email": "someone@else.example"})
    assert referral_count() == 1


# ---- framing ----------------------------------------------------------------------------------------

def test_only_the_embed_may_be_framed(client, db, scene, instant):
    *_, link = scene
    embed = client.get(f"/r/{link.code}/embed", headers=BROWSER)
    assert embed.status_code == 200 and "frame-ancestors *" in embed.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in embed.headers
    response = post_form(client, f"/r/{link.code}/embed", link.code)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/r/{link.code}/embed/thanks")
    thanks = client.get(response.headers["Location"])
    assert "frame-ancestors *" in thanks.headers["Content-Security-Policy"] and "X-Frame-Options" not in thanks.headers
    _db.session.refresh(link)
    assert (link.clicks, link.submissions) == (0, 1)  # the embed loads with every page of the partner's site

    for path in (f"/r/{link.code}", f"/r/{link.code}/thanks", "/refer", "/login", "/r/brand.css"):
        headers = client.get(path).headers
        assert headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path


# ---- the partner's link pages -----------------------------------------------------------------------

def test_partner_creates_shares_and_switches_off_a_link(client, db):
    jane = partner_user(name="Jane Doe")
    client.login(jane)
    missing = client.submit("/partner/links", {"campaign": "  "})
    assert missing.status_code == 422
    response = client.submit("/partner/links", {"campaign": "Spring campaign"})
    link = _db.session.scalars(_db.select(ReferralLink)).one()
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/partner/links/{link.id}")
    assert len(link.code) >= 16 and re.fullmatch(r"[A-Za-z0-9_-]+", link.code)  # 96 random bits
    assert (link.user_id, link.partner_org_id, link.active) == (jane.id, jane.organization_id, True)

    page = client.get(f"/partner/links/{link.id}").get_data(as_text=True)
    assert f"http://portal.test/r/{link.code}" in page and 'data-copy="link-url"' in page
    assert f"http://portal.test/r/{link.code}/embed" in page and "&lt;iframe" in page
    svg = client.get(f"/partner/links/{link.id}/qr.svg")
    assert svg.headers["Content-Type"] == "image/svg+xml" and b"<svg" in svg.data
    png = client.get(f"/partner/links/{link.id}/qr.png?download=1")
    assert png.data.startswith(b"\x89PNG") and "attachment" in png.headers["Content-Disposition"]

    off = client.submit(f"/partner/links/{link.id}/active", {"active": "0"})
    assert off.status_code == 303 and link.active is False
    assert client.get(f"/r/{link.code}").status_code == 404
    row = client.submit(f"/partner/links/{link.id}/active", {"active": "1"}, headers={"HX-Request": "true"})
    html = row.get_data(as_text=True)
    assert f'id="link-{link.id}"' in html and "<html" not in html and "Deactivate" in html
    assert link.active is True and client.get(f"/r/{link.code}").status_code == 200


def test_link_counters_on_the_list(client, db, scene, instant):
    org, jane, admin, link = scene
    client.get(f"/r/{link.code}", headers=BROWSER)
    post_form(client, f"/r/{link.code}", link.code)
    referral = _db.session.scalars(_db.select(Referral)).one()
    referral.stage = referral.status = "won_payment_pending"
    _db.session.commit()
    client.login(jane)
    row = client.get("/partner/links").get_data(as_text=True)
    cells = re.findall(r'<td class="num"[^>]*>(\d+)</td>', row)
    assert cells == ["1", "1", "1"]


def test_partner_admins_see_all_links_of_their_organization_members_only_their_own(client, db, scene):
    org, jane, admin, link = scene
    colleague = partner_user("partner_user", organization=org)
    colleague_link = links.create(by=colleague, campaign="Colleague's link")

    client.login(admin)
    listing = client.get("/partner/links").get_data(as_text=True)
    assert "Spring campaign" in listing and "Colleague&#39;s link" in listing and "Jane Doe" in listing
    assert client.get(f"/partner/links/{link.id}").status_code == 200
    client.submit("/logout")

    client.login(jane)
    listing = client.get("/partner/links").get_data(as_text=True)
    assert "Spring campaign" in listing and "Colleague" not in listing
    assert client.get(f"/partner/links/{colleague_link.id}").status_code == 404


@pytest.mark.parametrize("role", ["partner_admin", "partner_user"])
def test_other_partners_get_404_on_link_pages_and_actions(client, db, scene, role):
    *_, link = scene
    client.login(partner_user(role))
    for path in (f"/partner/links/{link.id}", f"/partner/links/{link.id}/qr.svg", f"/partner/links/{link.id}/qr.png"):
        assert client.get(path).status_code == 404, path
    assert client.submit(f"/partner/links/{link.id}/active", {"active": "0"}).status_code == 404
    assert link.active is True


def test_internal_users_have_no_link_pages(client, db, scene):
    *_, link = scene
    client.login(internal_user("admin"))
    assert client.get("/partner/links").status_code == 404


def test_a_partner_user_sees_referrals_through_their_own_links_only(client, db, scene, instant):
    org, jane, admin, link = scene
    colleague = partner_user("partner_user", organization=org)
    post_form(client, f"/r/{link.code}", link.code)
    referral = _db.session.scalars(_db.select(Referral)).one()
    client.login(colleague)
    assert "Navy Systems" not in client.get("/partner/referrals").get_data(as_text=True)
    assert client.get(f"/partner/referrals/{referral.id}").status_code == 404
    client.submit("/logout")
    client.login(admin)
    assert client.get(f"/partner/referrals/{referral.id}").status_code == 200


def test_internal_referral_page_shows_the_attribution(client, db, scene, instant):
    *_, link = scene
    post_form(client, f"/r/{link.code}", link.code)
    referral = _db.session.scalars(_db.select(Referral)).one()
    client.login(internal_user("manager"))
    html = client.get(f"/internal/referrals/{referral.id}").get_data(as_text=True)
    assert "Via link “Spring campaign” of Jane Doe" in html


# ---- branding -----------------------------------------------------------------------------------------

def test_admin_sets_the_branding_that_prospects_see(client, db, scene):
    *_, link = scene
    client.login(internal_user("admin"))
    form = client.get("/internal/settings/public-page")
    assert form.status_code == 200
    bad = client.submit("/internal/settings/public-page", {
        "primary_color": "red", "headline": "Hi", "attribution_days": "30"})
    assert bad.status_code == 422 and referral_count() == 0
    saved = client.submit("/internal/settings/public-page", {
        "vendor_name": "Acme Cloud", "primary_color": "#0F766E", "headline": "Move to Acme Cloud",
        "intro": "Fast and friendly.", "privacy_text": "We keep your data safe.", "attribution_days": "60"})
    assert saved.status_code == 303
    page = client.get(f"/r/{link.code}").get_data(as_text=True)
    assert "Move to Acme Cloud" in page and "We keep your data safe." in page and "Acme Cloud" in page
    assert "style=" not in page  # colours come from the stylesheet, the CSP forbids inline styles
    css = client.get("/r/brand.css")
    assert css.headers["Content-Type"].startswith("text/css") and "--brand: #0f766e" in css.get_data(as_text=True)


def test_only_internal_admins_edit_the_branding(client, db):
    client.login(internal_user("manager"))
    assert client.get("/internal/settings/public-page").status_code == 403


def test_a_double_click_sent_at_the_same_moment_is_one_referral(app, live_server, committed_db, monkeypatch):
    """Committed data and a real server: posts race; the link's row lock (PostgreSQL) or the database's
    write lock (SQLite) lets one through and the others find it."""
    import concurrent.futures

    import requests

    monkeypatch.setitem(app.config, "PUBLIC_FORM_MIN_SECONDS", 0)
    link = ReferralLinkFactory()
    code, url = link.code, f"{live_server}/r/{link.code}"
    data = {**PROSPECT, "csrf_token": public_forms.issue_token(code)}
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: requests.post(url, data=data, allow_redirects=False,
                                                         timeout=10).status_code, range(4)))
    assert statuses == [303] * 4
    committed_db.session.rollback()  # a new read transaction: SQLite would still show its old snapshot
    assert referral_count() == 1
    assert committed_db.session.scalar(_db.select(ReferralLink.submissions).where(ReferralLink.code == code)) == 1


# ---- the partner program in the prospect's confirmation ------------------------------------------

def _confirmation() -> EmailMessage:
    return _db.session.scalars(_db.select(EmailMessage).where(EmailMessage.event == "prospect_confirmation")
                               .order_by(EmailMessage.id.desc())).first()


def test_the_confirmation_offers_the_partner_program_only_when_the_admins_chose_so(app, client, db, scene, instant,
                                                                                    run_jobs):
    *_, link = scene
    assert post_form(client, f"/r/{link.code}", link.code).status_code == 303
    run_jobs()  # the worker writes the confirmation
    assert "/partners/apply" not in _confirmation().text_body + _confirmation().html_body  # off by default

    client.login(internal_user("admin"))
    page = client.get("/internal/settings/partner-program").get_data(as_text=True)
    assert "Offer the partner program page in the confirmation mail" in page
    assert client.submit("/internal/settings/partner-program", {"offer_in_confirmation": "y"}).status_code == 303
    assert settings.get("partner_program") == {"offer_in_confirmation": True}
    client.submit("/logout")

    program = app.config["PUBLIC_BASE_URL"] + "/partners/apply"
    assert post_form(client, f"/r/{link.code}", link.code,
                     {**PROSPECT, "contact_email": "ada@lovelace.example"}).status_code == 303
    run_jobs()
    mail = _confirmation()
    assert mail.to_address == "ada@lovelace.example"
    assert f"Become a partner: {program}" in mail.text_body and f'href="{program}"' in mail.html_body
    # A prospect who came through no partner is not asked.
    internal_user("manager", email="max@acme.example")
    assert post_form(client, "/refer", "refer", {**PROSPECT, "contact_email": "lin@nolink.example"}).status_code == 303
    mail = _confirmation()
    assert mail.to_address == "lin@nolink.example" and "/partners/apply" not in mail.text_body + mail.html_body
