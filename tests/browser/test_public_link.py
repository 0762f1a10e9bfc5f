"""An anonymous prospect opens a partner's referral link in Chromium and sends the form."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from portal.extensions import db as _db
from portal.models import Referral
from portal.services import links

from tests.browser.conftest import screenshot
from tests.conftest import TEST_PASSWORD
from tests.factories import OrganizationFactory, internal_user, partner_user


def _sign_in(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_prospect_sends_the_form_and_the_partner_sees_the_referral_and_the_counts(app, browser, live_server, clock):
    with app.app_context():
        internal_user("manager", name="Max Manager")
        org = OrganizationFactory(name="Northwind Consulting")
        jane = partner_user("partner_admin", organization=org, name="Jane Doe", email="jane@northwind.example")
        code = links.create(by=jane, campaign="Spring campaign").code

    prospect = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    page = prospect.new_page()
    page.goto(f"/r/{code}")
    expect(page.get_by_text("Referred by Northwind Consulting")).to_be_visible()
    expect(page.get_by_role("navigation")).to_have_count(0)
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Last name").fill("Hopper")
    page.get_by_label("Work email").fill("grace@navy.example")
    page.get_by_label("Company").fill("Navy Systems")
    page.get_by_label("Phone").fill("+1 555 0100")
    page.get_by_label("How can we help?").fill("We want to move 40 servers to the cloud.")
    page.get_by_label("I agree that").check()
    expect(page.get_by_label("Leave this field empty")).not_to_be_in_viewport()
    screenshot(page, "public-link-landing")
    clock.advance(app.config["PUBLIC_FORM_MIN_SECONDS"])  # the time a person takes to fill it in
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    screenshot(page, "public-link-thanks")
    prospect.close()

    with app.app_context():
        referral = _db.session.scalars(_db.select(Referral)).one()
        assert (referral.source, referral.submitted_by_id) == ("link", None)

    partner = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 860})
    page = partner.new_page()
    _sign_in(page, "jane@northwind.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Referrals").click()
    row = page.locator("tbody tr", has_text="Navy Systems")
    expect(row).to_contain_text("via link “Spring campaign”")
    row.get_by_role("link").first.click()
    expect(page.get_by_text("Via link “Spring campaign” of Jane Doe")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Links").click()
    link_row = page.locator("tbody tr", has_text="Spring campaign")
    expect(link_row.locator("td.num")).to_have_text(["1", "1", "0"])  # clicks, submissions, won
    screenshot(page, "partner-links-list")
    link_row.get_by_role("link", name="Spring campaign").click()
    expect(page.locator("#stat-clicks")).to_have_text("1")
    expect(page.locator("#stat-submissions")).to_have_text("1")
    expect(page.get_by_role("img", name="QR code")).to_be_visible()
    assert page.locator("img.qr").evaluate("img => img.naturalWidth") > 0
    screenshot(page, "partner-link-detail")
    partner.close()


def test_an_unknown_code_shows_the_friendly_404_page(app, page):
    with app.app_context():
        internal_user("manager")  # the vendor organization gives the page its name
    response = page.goto("/r/this-is-not-a-code")
    assert response.status == 404
    expect(page.get_by_role("heading", name="This link does not work anymore")).to_be_visible()
    screenshot(page, "public-link-404")


@pytest.fixture
def partner_site():
    """A page of another origin (its own port) that frames what it is given: the partner's website."""
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield pages, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def test_a_partner_site_can_frame_the_embed_but_not_the_landing_page(app, page, live_server, clock, partner_site):
    with app.app_context():
        internal_user("manager")
        code = links.create(by=partner_user("partner_admin", name="Jane Doe"), campaign="Website").code
    pages, origin = partner_site
    pages["/"] = ("<!doctype html><title>Partner site</title><h1>Our partner</h1>"
                  f'<iframe id="embed" src="{live_server}/r/{code}/embed" width="600" height="640"></iframe>'
                  f'<iframe id="landing" src="{live_server}/r/{code}" width="600" height="200"></iframe>')
    page.goto(f"{origin}/")
    embed = page.frame_locator("#embed")
    expect(embed.get_by_role("button", name="Send my request")).to_be_visible()
    embed.get_by_label("First name").fill("Ada")
    embed.get_by_label("Last name").fill("Lovelace")
    embed.get_by_label("Work email").fill("ada@engines.example")
    embed.get_by_label("Company").fill("Analytical Engines")
    embed.get_by_label("I agree that").check()
    clock.advance(app.config["PUBLIC_FORM_MIN_SECONDS"])
    embed.get_by_role("button", name="Send my request").click()
    expect(embed.get_by_role("heading", name="Thank you!")).to_be_visible()
    screenshot(page, "public-link-embed")
    # the landing page refuses to be framed: its frame never gets the form
    expect(page.frame_locator("#landing").get_by_role("button", name="Send my request")).to_have_count(0)
    with app.app_context():
        assert _db.session.scalars(_db.select(Referral)).one().company_name == "Analytical Engines"
