"""Global search from the navigation: type-ahead through htmx, results grouped by kind, the keyboard
moves through them; a partner never sees another partner's record."""
from __future__ import annotations

from playwright.sync_api import expect

from portal.cli import demo
from portal.extensions import db
from portal.models import Referral
from tests.browser.audit import axe_violations, collect_console_errors
from tests.browser.conftest import screenshot, sign_in


def test_a_partner_finds_a_referral_by_company_email_and_number_and_never_another_partners(app, page):
    with app.app_context():
        demo.seed()
        ours = db.session.scalar(db.select(Referral).where(Referral.company_name == "Globex Corporation"))
        number, email, referral_id = ours.number, ours.contact_email, ours.id
    errors = collect_console_errors(page)
    sign_in(page, "jane@northwind.example")
    box = page.get_by_role("searchbox", name="Quick find")
    results = page.locator("#global-search-results")
    referral_results = results.locator("[aria-labelledby='search-group-referrals'] .search-result")

    for query in ("Globex Corp", email, number):
        box.fill(query)
        expect(results.get_by_role("heading", name="Referrals")).to_be_visible()
        # (the demo has a second Globex referral with the same contact, so the email finds both)
        expect(referral_results.and_(page.locator(f"[href='/partner/referrals/{referral_id}']"))).to_have_count(1)
        expect(results).to_contain_text(number)
    screenshot(page, "search-typeahead")
    assert not axe_violations(page)

    # Bluebird's "Soylent Labs" and "Cyberdyne Retail" exist, but not for Jane.
    box.fill("Soylent")
    expect(results).to_contain_text("Nothing matches")
    box.fill("Cyber")
    expect(results).to_contain_text("Nothing matches")

    box.fill(number)
    expect(referral_results).to_have_count(1)
    box.press("ArrowDown")
    expect(results.locator(".search-result").first).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(box).to_be_focused()
    page.keyboard.press("ArrowDown")
    with page.expect_navigation(wait_until="load"):  # type into the new page once htmx has bound its box
        page.keyboard.press("Enter")
    expect(page).to_have_url(f"/partner/referrals/{referral_id}")

    box = page.get_by_role("searchbox", name="Quick find")
    box.fill(number)
    expect(referral_results).to_have_count(1)
    box.press("Escape")
    expect(results.locator(".search-result")).to_have_count(0)
    box.press("Enter")  # the box is a plain form too: the results page
    expect(page.get_by_role("heading", name="Search", exact=True)).to_be_visible()
    expect(page.locator("main")).to_contain_text("Globex Corporation")
    assert not errors, errors
