"""In Chromium: an admin who must use two-step sign-in enrols at sign-in (QR code, key, recovery
codes), signs in with a code, and sees where they are signed in."""
from __future__ import annotations

import pyotp
from playwright.sync_api import expect

from portal import clock
from portal.cli import demo

from tests.browser.conftest import screenshot


def test_an_admin_enrols_at_sign_in_then_signs_in_with_a_code(app, page, monkeypatch):
    monkeypatch.setitem(app.config, "MFA_REQUIRED_ROLES", "admin,manager")
    with app.app_context():
        demo.seed()
    page.goto("/login")
    page.get_by_label("Email").fill("admin@acme.example")
    page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
    expect(page.get_by_alt_text("QR code for your authenticator app")).to_be_visible()
    screenshot(page, "mfa-enrol")
    secret = page.locator("[data-mfa-secret]").get_attribute("data-mfa-secret")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(clock.now()))
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_role("heading", name="Two-step sign-in is on")).to_be_visible()
    assert page.locator(".recovery-codes li").count() == 10
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "mfa-recovery-codes-390")
    page.set_viewport_size({"width": 1280, "height": 860})
    page.get_by_role("link", name="I have kept them").click()
    expect(page.get_by_role("heading", name="Welcome", exact=False)).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    clock.advance(31)  # the next code is a new time step
    page.get_by_label("Email").fill("admin@acme.example")
    page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("Code").fill("000000" if pyotp.TOTP(secret).at(clock.now()) != "000000" else "111111")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".field__error")).to_contain_text("not right")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(clock.now()))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Welcome", exact=False)).to_be_visible()
    page.goto("/account")
    expect(page.get_by_role("heading", name="Where you are signed in")).to_be_visible()
    expect(page.get_by_text("This one")).to_be_visible()
    screenshot(page, "account-sessions")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "account-sessions-390")
    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto("/internal/audit?actor=admin")
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    screenshot(page, "audit-trail")
