"""A demo partner signs in through the real login page and sees their dashboard."""
from __future__ import annotations

from playwright.sync_api import expect

from portal.cli import demo

from tests.browser.conftest import screenshot


def test_demo_partner_logs_in_and_sees_the_dashboard(app, page):
    with app.app_context():
        demo.seed()
    page.goto("/")
    expect(page).to_have_url("/login")
    page.get_by_label("Email").fill("jane@northwind.example")
    page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Welcome, Jane Doe")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Team")
    path = screenshot(page, "partner-dashboard")
    assert path.stat().st_size > 10_000


def test_wrong_password_shows_the_message_next_to_the_form(app, page):
    with app.app_context():
        demo.seed()
    page.goto("/login")
    page.get_by_label("Email").fill("jane@northwind.example")
    page.get_by_label("Password").fill("not-my-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Invalid email or password.")


def test_htmx_search_filters_partners_without_a_reload(app, page):
    with app.app_context():
        demo.seed()
    page.goto("/login")
    page.get_by_label("Email").fill("manager@acme.example")
    page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # The search works through htmx: type once the new page has loaded and htmx has bound it.
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Partners").click()
    page.evaluate("window.__marker = 'same-page'")
    page.get_by_label("Search").fill("blue")
    expect(page.locator("#org-results tbody tr")).to_have_count(1)
    expect(page.locator("#org-results")).to_contain_text("Bluebird Digital")
    assert page.evaluate("window.__marker") == "same-page"
    screenshot(page, "internal-partners-search")
