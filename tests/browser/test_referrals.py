"""A referral's first steps in two browsers: the partner submits, a manager accepts from the queue."""
from __future__ import annotations

from playwright.sync_api import expect

from portal.cli import demo

from tests.browser.conftest import screenshot, sign_in


def test_partner_submits_manager_accepts_in_the_queue_without_a_reload_partner_sees_it(app, browser, live_server,
                                                                                       page):
    with app.app_context():
        demo.seed()
        # A year of history across bench partners, so the internal dashboard's chart has every month.
        demo.seed_bench(partners=6, referrals=600)

    sign_in(page, "jane@northwind.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Referrals").click()
    page.get_by_role("link", name="New referral").click()
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Last name").fill("Hopper")
    page.get_by_label("Email", exact=True).fill("grace@harbour-analytics.example")
    page.get_by_label("Company", exact=True).fill("Harbour Analytics")
    page.get_by_label("Estimated deal value").fill("42000")
    page.get_by_label("The customer agreed to be contacted").check()
    page.get_by_role("button", name="Submit the referral").click()
    expect(page.get_by_role("heading", name="Harbour Analytics")).to_contain_text("Submitted")
    referral_url = page.url
    number = page.locator(".page-head p.muted").nth(1).inner_text().split(" ")[0]
    assert number.startswith("R-")

    manager_context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 860})
    try:
        manager = manager_context.new_page()
        manager.set_default_timeout(10_000)
        sign_in(manager, "manager@acme.example")
        # The queue's search works through htmx: type once the new page has loaded and htmx has bound it.
        with manager.expect_navigation(wait_until="load"):
            manager.get_by_role("navigation", name="Main").get_by_role("link", name="Review queue").click()
        manager.evaluate("window.__marker = 'same-page'")
        manager.get_by_label("Search").fill(number)  # the queue is long (oldest first): the search narrows it
        row = manager.locator("#queue-results tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Harbour Analytics")
        row.get_by_role("button", name=f"Accept {number}").click()
        expect(row.locator(".badge")).to_have_text("Accepted")
        # the search and the row were swapped in: the page never reloaded
        assert manager.evaluate("window.__marker") == "same-page"

        # The chart comes in a wide and a narrow drawing, one hidden by the stylesheet: ask once it applies.
        with manager.expect_navigation(wait_until="load"):
            manager.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
        expect(manager.get_by_role("group", name="Referrals and wins per month")).to_be_visible()
        expect(manager.locator(".kpis").first).to_contain_text("Waiting for review")
        screenshot(manager, "referrals-internal-dashboard")
    finally:
        manager_context.close()

    page.goto(referral_url)
    expect(page.get_by_role("heading", name="Harbour Analytics")).to_contain_text("Accepted")
    expect(page.locator(".timeline")).to_contain_text("Max Manager")

    with page.expect_navigation(wait_until="load"):  # as above: once the stylesheet hides one drawing
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("group", name="Referrals and wins per month")).to_be_visible()
    breakdown = page.locator(".breakdown")
    expect(breakdown.get_by_role("link", name="Accepted")).to_be_visible()
    screenshot(page, "referrals-partner-dashboard")
    breakdown.get_by_role("link", name="Accepted").click()
    expect(page).to_have_url("/partner/referrals?status=accepted")
    expect(page.locator("#referral-results")).to_contain_text("Harbour Analytics")
