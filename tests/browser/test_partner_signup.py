"""A company applies on the public program page in Chromium; a manager approves it; its admin signs in."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from portal.extensions import db as _db
from portal.models import EmailMessage, PartnerApplication, ReferralLink

from tests.browser.conftest import screenshot
from tests.conftest import TEST_PASSWORD
from tests.factories import internal_user


def test_apply_approve_and_the_new_admin_finds_their_link(app, browser, live_server, clock):
    with app.app_context():
        internal_user("manager", name="Max Manager", email="max@acme.example")

    for width, name in ((1280, "wide"), (390, "narrow")):
        context = browser.new_context(base_url=live_server, viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto("/partners/apply")
        expect(page.get_by_role("heading", name="Become a", exact=False)).to_be_visible()
        if width == 390:
            # A bad email is a clear error beside its field, and what was typed stays.
            page.get_by_label("Company", exact=True).fill("Contoso Consulting")
            page.get_by_label("Your name").fill("Carla Contoso")
            page.get_by_label("Work email").fill("carla-at-contoso")
            page.get_by_label("What does your company offer?").fill("IT consulting for manufacturers.")
            page.get_by_label("I agree that").check()
            clock.advance(app.config["PUBLIC_FORM_MIN_SECONDS"])
            page.get_by_role("button", name="Send my application").click()
            expect(page.get_by_text("Enter a valid email address")).to_be_visible()
            expect(page.get_by_label("Your name")).to_have_value("Carla Contoso")
            screenshot(page, f"partner-apply-error-{name}")
            page.get_by_label("Work email").fill("carla@contoso.example")
            page.get_by_label("Company website").fill("contoso.example")
            page.get_by_label("Country").fill("DE")
            page.get_by_label("I agree that").check()
            page.get_by_role("button", name="Send my application").click()
            expect(page.get_by_role("heading", name="Thank you for applying!")).to_be_visible()
            screenshot(page, f"partner-apply-thanks-{name}")
        else:
            expect(page.get_by_label("Leave this field empty")).not_to_be_in_viewport()
            screenshot(page, f"partner-apply-{name}")
        context.close()

    with app.app_context():
        application = _db.session.scalars(_db.select(PartnerApplication)).one()
        assert application.status == "pending"

    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Email").fill("max@acme.example")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/internal/organizations")
    page.get_by_role("link", name="Applications").click()
    page.get_by_role("link", name="Contoso Consulting").click()
    screenshot(page, "partner-application-wide")
    page.get_by_role("button", name="Approve and invite").click()
    expect(page.get_by_text("Contoso Consulting is now a partner")).to_be_visible()
    context.close()

    with app.app_context():
        mail = _db.session.scalars(_db.select(EmailMessage).where(
            EmailMessage.to_address == "carla@contoso.example")).one()
        code = _db.session.scalars(_db.select(ReferralLink)).one().code
    invitation = re.search(r"https?://\S*/invitation/\S+", mail.text_body).group(0)
    path = "/" + invitation.split("/", 3)[3]

    context = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 900})
    page = context.new_page()
    page.goto(path)
    page.get_by_label("New password", exact=True).fill("carla-secret-pass")
    page.get_by_label("Repeat the new password").fill("carla-secret-pass")
    page.get_by_role("button", name="Save the password").click()
    page.wait_for_load_state()
    if not page.url.rstrip("/").endswith("/partner"):
        page.goto("/login")
        page.get_by_label("Email").fill("carla@contoso.example")
        page.get_by_label("Password").fill("carla-secret-pass")
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your referral link")).to_be_visible()
    expect(page.get_by_text(f"/r/{code}")).to_be_visible()
    screenshot(page, "partner-first-sign-in-narrow")
    context.close()
