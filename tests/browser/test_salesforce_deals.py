"""An admin sends a deal registration to Salesforce from its page and imports an Opportunity as a
registration, in Chromium at 1280 and 390 px."""
from __future__ import annotations

import threading

from playwright.sync_api import expect

from portal.cli import demo
from portal.extensions import db
from portal.jobs import queues
from portal.models import DealRegistration
from portal.services import crm
from tests.browser.conftest import screenshot, sign_in
from tests.crm_fixtures import make_salesforce_connection


def test_admin_sends_a_registration_to_salesforce_and_imports_an_opportunity(app, live_server, page, sf_sandbox):
    with app.app_context():
        demo.seed()
        connection = make_salesforce_connection(sf_sandbox.base, sync_trigger="manual")
        connection_id = connection.id
        deal = db.session.scalar(db.select(DealRegistration).where(DealRegistration.status == "approved")
                                 .order_by(DealRegistration.id))
        deal_id = deal.id
    account = sf_sandbox.api("POST", "/sobjects/Account", {"Name": "Hooli", "Website": "https://hooli.example"})
    sf_sandbox.api("POST", "/sobjects/Opportunity", {"Name": "Hooli cloud migration", "StageName": "Qualification",
                                                     "CloseDate": "2027-04-30", "Amount": 64000,
                                                     "AccountId": account["id"]})

    sign_in(page, "admin@acme.example")
    page.goto(f"/internal/integrations/{connection_id}")
    options = page.locator("section", has=page.get_by_role("heading", name="Deal registrations"))
    options.get_by_label("Created", exact=True).check()
    options.get_by_label("Approved", exact=True).check()
    options.get_by_role("button", name="Save the deal options").click()
    expect(page.locator("main")).to_contain_text("The deal registration options are saved.")
    expect(options.get_by_label("Approved", exact=True)).to_be_checked()
    screenshot(page, "salesforce-deal-options")

    page.goto(f"/internal/deals/{deal_id}")
    panel = page.locator("#crm-panel")
    expect(panel).to_contain_text("Not in Salesforce yet.")
    panel.get_by_role("button", name="Sync now").click()
    expect(panel).to_contain_text("Sync requested")
    worker = threading.Thread(target=queues.run_burst, args=(app,))
    worker.start()
    worker.join(30)
    lead_link = panel.get_by_role("link", name="View Lead in Salesforce")
    expect(lead_link).to_be_visible()
    with app.app_context():
        [link] = crm.deal_panel(db.session.get(DealRegistration, deal_id)).links
        expect(lead_link).to_have_attribute("href", link.url)
    screenshot(page, "salesforce-deal-panel")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "salesforce-deal-panel-390")
    page.set_viewport_size({"width": 1280, "height": 860})

    page.goto(f"/internal/integrations/{connection_id}/import")
    page.get_by_label("Name contains").fill("hooli")
    page.wait_for_url("**name=hooli**")   # the search has answered (htmx pushes its address)
    results = page.locator("#import-results")
    expect(results).to_contain_text("Hooli cloud migration")
    results.get_by_label("Import Hooli cloud migration").check()
    results.get_by_label("Partner the registrations belong to").select_option(label="Atlas Distribution")
    screenshot(page, "salesforce-import")
    results.get_by_role("button", name="Import the chosen Opportunities").click()
    expect(page.locator("#import-results")).to_contain_text("Imported 1 deal registration")
    expect(page.locator("#import-results")).to_contain_text("Linked")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "salesforce-import-390")

    page.goto("/internal/deals")
    expect(page.get_by_role("link", name="Import from Salesforce (sandbox)")).to_be_visible()
    screenshot(page, "salesforce-deals-list-390")
    page.set_viewport_size({"width": 1280, "height": 860})
    screenshot(page, "salesforce-deals-list")
