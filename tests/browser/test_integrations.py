"""An admin pushes a referral to HubSpot from its page and follows it into the integration log."""
from __future__ import annotations

import threading

from playwright.sync_api import expect

from portal.jobs import queues
from portal.extensions import db
from portal.models import Referral
from portal.services import crm
from portal.cli import demo
from tests.browser.conftest import screenshot, sign_in
from tests.crm_fixtures import make_connection


def test_admin_syncs_a_referral_sees_the_hubspot_link_without_a_reload_and_opens_the_log(app, live_server, page,
                                                                                          sandbox):
    with app.app_context():
        demo.seed()
        connection = make_connection(sandbox.base, sync_trigger="manual")
        referral = db.session.scalar(db.select(Referral).order_by(Referral.id))
        referral_id, number, connection_id = referral.id, referral.number, connection.id

    sign_in(page, "admin@acme.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Integrations").click()
    page.get_by_role("link", name="HubSpot (sandbox)", exact=True).click()
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_contain_text("Connected to HubSpot")
    expect(page.get_by_label("Private-app access token")).to_have_value("")
    expect(page.locator("main")).to_contain_text("A token is saved; enter a new one to replace it.")
    page.get_by_role("button", name="Test connection").focus()
    screenshot(page, "integrations-connection")

    page.get_by_role("link", name="Field mappings and rules").click()
    expect(page.get_by_label("Row 1: HubSpot property")).to_have_value("deal.dealname")
    rows = page.locator("#mapping-rows tr.mapping-row")
    count = rows.count()
    page.get_by_role("button", name="Add a row").click()
    expect(rows).to_have_count(count + 1)
    page.get_by_text("Map picklist values of row 3").click()
    expect(page.get_by_label("Row 3, value 1: portal value")).to_have_value("submitted")
    screenshot(page, "integrations-mappings")

    page.goto(f"/internal/referrals/{referral_id}")
    panel = page.locator("#crm-panel")
    expect(panel).to_contain_text("Not in HubSpot yet.")
    page.evaluate("window.__marker = 'same-page'")
    panel.get_by_role("button", name="Sync now").click()
    expect(panel).to_contain_text("Sync requested")

    # The worker (off in tests) runs the push while the panel polls itself.
    worker = threading.Thread(target=queues.run_burst, args=(app,))
    worker.start()
    worker.join(30)
    deal_link = panel.get_by_role("link", name="View Deal in HubSpot")
    expect(deal_link).to_be_visible()
    assert page.evaluate("window.__marker") == "same-page"
    with app.app_context():
        [link] = crm.links_for(db.session.get(Referral, referral_id))
        assert link.connection_id == connection_id and link.url
        deal_url = link.url
    expect(deal_link).to_have_attribute("href", deal_url)
    expect(deal_link).to_have_attribute("target", "_blank")
    panel.locator("summary", has_text="Full details").click()
    expect(panel).to_contain_text("Synced")
    screenshot(page, "integrations-referral-panel")

    panel.get_by_role("link", name="View integration log").click()
    expect(page.get_by_role("heading", name="Integration log")).to_be_visible()
    expect(page.get_by_label("Referral")).to_have_value(number)
    expect(page.locator("#log-results")).to_contain_text(number)
    expect(page.locator("#log-results")).to_contain_text("Push")
    page.get_by_label("Direction").select_option("pull")
    expect(page.locator("#log-results")).to_contain_text("No log entry matches these filters.")
    page.get_by_label("Direction").select_option("")
    expect(page.locator("#log-results")).to_contain_text(number)
    screenshot(page, "integrations-log")
