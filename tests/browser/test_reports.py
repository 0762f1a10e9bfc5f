"""Reports and payouts in Chromium: the report updates in place and every state is a URL; a pinned
saved view opens from the navigation; a manager pays the open payout batch; the partner sees the ledger."""
from __future__ import annotations

from playwright.sync_api import expect

from portal.cli import demo

from tests.browser.conftest import screenshot, sign_in


def test_partner_filters_sorts_and_opens_a_pinned_view_without_reloads(app, browser, live_server, page):
    with app.app_context():
        demo.seed()

    sign_in(page, "jane@northwind.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Referrals report")).to_be_visible()
    page.evaluate("window.__marker = 'same-page'")
    rows = page.locator(".report-table tbody tr")
    expect(page.locator('[data-total="count"]')).not_to_have_text("0")
    all_rows = rows.count()

    page.get_by_label("Field").first.select_option(label="Company")
    expect(page.get_by_label("Operator").first).to_be_visible()      # the row grew its operator in place
    page.get_by_label("Value").first.fill("Initech")
    page.get_by_label("Value").first.press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Initech")
    assert "f1=company_name" in page.url and "v1=Initech" in page.url
    assert page.evaluate("window.__marker") == "same-page"

    page.get_by_label("Field").first.select_option(value="")        # remove the filter again
    expect(rows).to_have_count(all_rows)
    page.locator(".report-table thead").get_by_role("link", name="Company", exact=True).click()
    expect(page.locator(".report-table th[aria-sort='ascending']")).to_contain_text("Company")
    companies = rows.locator("td:nth-child(3)").all_inner_texts()
    assert companies == sorted(companies)
    assert "sort=company_name" in page.url and page.evaluate("window.__marker") == "same-page"
    expect(page.get_by_role("img", name="Referrals per month by outcome")).to_be_visible()
    screenshot(page, "reports-partner-1280")

    # The URL alone rebuilds the state (bookmark, share).
    page.goto(page.url)
    expect(page.locator(".report-table th[aria-sort='ascending']")).to_contain_text("Company")

    navigation = page.get_by_role("navigation", name="Main")
    navigation.get_by_text("★ Pinned").click()  # the pinned views' menu
    screenshot(page, "pinned-views-menu-1280")
    navigation.get_by_role("link", name="★ Won this year").click()
    expect(page.get_by_role("heading", name="Won this year")).to_be_visible()
    expect(page.locator(".report-table thead")).to_contain_text("Commission status")
    with app.app_context():
        from portal.extensions import db
        from portal.models import Organization, Referral
        won = db.session.scalar(
            db.select(db.func.count()).select_from(Referral)
            .join(Organization, Organization.id == Referral.partner_org_id)
            .where(Organization.name == "Northwind Consulting",
                   Referral.stage.in_(("won_payment_pending", "won_payment_completed"))))
    expect(rows).to_have_count(won)  # Northwind's won referrals, nobody else's
    for row in rows.all():
        expect(row.locator("td").nth(3)).to_contain_text("USD")  # each has its won amount
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "reports-partner-390")


def test_manager_pays_the_open_batch_and_the_partner_sees_the_ledger(app, browser, live_server, page):
    with app.app_context():
        demo.seed()

    sign_in(page, "manager@acme.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Payouts").click()
    expect(page.get_by_role("heading", name="Payouts")).to_be_visible()
    open_batch = page.locator("table tbody tr", has_text="Open")
    expect(open_batch).to_have_count(1)
    expect(page.locator("table tbody tr", has_text="Paid")).to_have_count(1)
    screenshot(page, "payouts-list-1280")
    open_batch.get_by_role("link").click()
    expect(page.locator(".payout-line")).to_contain_text("Northwind Consulting")
    expect(page.locator(".payout-line")).to_contain_text("•")        # payee details masked
    page.get_by_label("Payment reference").fill("SEPA-BROWSER-42")
    page.get_by_role("button", name="Mark paid").click()
    expect(page.locator("[data-status]")).to_have_text("Paid")
    expect(page.locator(".facts--inline")).to_contain_text("SEPA-BROWSER-42")
    screenshot(page, "payouts-batch-paid-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "payouts-batch-paid-390")

    partner = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 860})
    try:
        jane = partner.new_page()
        jane.set_default_timeout(10_000)
        sign_in(jane, "jane@northwind.example")
        # One "Commissions" item in the navigation; the money side is its second tab.
        nav = jane.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Ledger")).to_have_count(0)
        nav.get_by_role("link", name="Commissions").click()
        jane.get_by_role("navigation", name="Commissions").get_by_role("link", name="Balance and payouts").click()
        expect(nav.get_by_role("link", name="Commissions")).to_have_attribute("aria-current", "page")
        expect(jane.locator(".ledger-table")).to_contain_text("Paid in payout")
        expect(jane.locator('[data-balance="USD"]')).to_be_visible()
        screenshot(jane, "ledger-partner-1280")
        jane.get_by_role("link", name="Statement").click()
        expect(jane.get_by_role("heading", name="Statement", exact=False)).to_be_visible()
        jane.set_viewport_size({"width": 390, "height": 844})
        screenshot(jane, "statement-partner-390")
    finally:
        partner.close()
