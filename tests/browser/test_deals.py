"""The closed loop in Chromium, as three people: Jane refers, the manager routes and decides, Dora resells."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from portal.cli import demo

from tests.browser.conftest import screenshot, sign_in
from tests.integration.conftest import body, smtp_server  # noqa: F401  (the SMTP server fixture)


def _person(browser, live_server, email: str):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, email)
    return context, page


def _nav(page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def test_referral_to_lead_to_registration_to_won_pays_jane_and_dora(app, browser, live_server, smtp_server,  # noqa: F811
                                                                    run_jobs):
    with app.app_context():
        demo.seed()

    # Jane refers a company.
    jane_context, jane = _person(browser, live_server, "jane@northwind.example")
    _nav(jane, "Referrals")
    jane.get_by_role("link", name="New referral").click()
    jane.get_by_label("First name").fill("Ada")
    jane.get_by_label("Last name").fill("Byron")
    jane.get_by_label("Email", exact=True).fill("ada@analytical-engines.example")
    jane.get_by_label("Company", exact=True).fill("Analytical Engines")
    jane.get_by_label("Estimated deal value").fill("40000")
    jane.get_by_label("The customer agreed to be contacted").check()
    jane.get_by_role("button", name="Submit the referral").click()
    expect(jane.get_by_role("heading", name="Analytical Engines")).to_contain_text("Submitted")
    referral_url = jane.url
    number = re.search(r"R-\d+", jane.locator(".page-head").inner_text()).group(0)

    # The manager sends it to Atlas as a lead.
    manager_context, manager = _person(browser, live_server, "manager@acme.example")
    manager.goto(referral_url.replace("/partner/", "/internal/"))
    manager.locator("summary", has_text="Send to a reseller").click()
    manager.get_by_label("Reseller").select_option(label="Atlas Distribution (distributor)")
    manager.get_by_role("button", name="Send as a lead").click()
    expect(manager.locator("#decision-panel h1")).to_contain_text("Sent to reseller")

    # Dora accepts the lead, converts it and registers the deal.
    dora_context, dora = _person(browser, live_server, "dora@atlas.example")
    _nav(dora, "Leads")
    dora.get_by_role("link", name="Analytical Engines").click()
    dora.get_by_role("button", name="Accept the lead").click()
    dora.get_by_role("link", name="Convert to deal registration").click()
    expect(dora.get_by_label("End customer company")).to_have_value("Analytical Engines")
    expect(dora.get_by_label("Contact email")).to_have_value("ada@analytical-engines.example")
    dora.get_by_label("Amount").fill("42000")
    dora.get_by_label("Expected close date").fill("2027-06-30")
    dora.get_by_role("button", name="Submit the registration").click()
    expect(dora.get_by_role("heading", name="Analytical Engines")).to_contain_text("Submitted")
    deal_number = re.search(r"D-\d+", dora.locator(".page-head").inner_text()).group(0)
    screenshot(dora, "deals-partner-detail")

    # The manager pre-approves it from the queue (no reload), approves it on its page and marks it won.
    _nav(manager, "Deals")
    manager.evaluate("window.__marker = 'same-page'")
    manager.get_by_label("Search").fill(deal_number)
    row = manager.locator("#deal-queue-results tbody tr")
    expect(row).to_have_count(1)
    row.get_by_role("button", name=f"Pre-approve {deal_number}").click()
    expect(row.locator(".badge")).to_have_text("Pre-approved")
    assert manager.evaluate("window.__marker") == "same-page"
    screenshot(manager, "deals-internal-queue")
    row.get_by_role("link", name=deal_number).click()
    manager.locator("summary", has_text="Approve").click()
    manager.get_by_role("button", name="Approve", exact=True).click()
    expect(manager.locator("#decision-panel h1")).to_contain_text("Approved")
    manager.locator("summary", has_text="Won").click()
    manager.get_by_label("Won amount").fill("42000")
    manager.get_by_role("button", name="Mark won").click()
    expect(manager.locator("#decision-panel h1")).to_contain_text("Won")
    expect(manager.locator("#decision-panel")).to_contain_text("2,100.00 USD")  # Atlas: platinum resellers, 5 %
    screenshot(manager, "deals-internal-decision")

    # Jane's referral page: "Won, payment pending" with her commission (gold: 10 %).
    jane.goto(referral_url)
    expect(jane.get_by_role("heading", name="Analytical Engines")).to_contain_text("Won, payment pending")
    expect(jane.locator(".card", has_text="Progress")).to_contain_text("4,200.00 USD")
    expect(jane.locator(".card", has_text="Progress")).to_contain_text("Won")
    screenshot(jane, "deals-referrer-referral")
    # Dora's commissions: the reseller commission, and not Jane's.
    _nav(dora, "Commissions")
    table = dora.locator("table")
    expect(table).to_contain_text(deal_number)
    expect(table).to_contain_text("2,100.00 USD")
    expect(table).not_to_contain_text("4,200.00")

    dora.set_viewport_size({"width": 390, "height": 844})
    dora.goto("/partner/deals")
    expect(dora.locator("#deal-results")).to_contain_text(deal_number)
    screenshot(dora, "deals-partner-list-390")
    for context in (jane_context, manager_context, dora_context):
        context.close()

    run_jobs()
    jane_mail = [m["Subject"] for m in smtp_server.to("jane@northwind.example")]
    dora_mail = [m["Subject"] for m in smtp_server.to("dora@atlas.example")]
    assert f"Referral {number} won" in jane_mail
    assert any("A deal was registered for your referral" in s for s in jane_mail)
    assert f"Deal registration {deal_number} won" in dora_mail
    won = next(m for m in smtp_server.to("jane@northwind.example") if m["Subject"] == f"Referral {number} won")
    assert "4,200.00 USD" in body(won)
