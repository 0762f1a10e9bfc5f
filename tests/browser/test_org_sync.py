"""An admin sets organization sync's options on a Salesforce connection's page in Chromium (kinds,
master, record types from the org), at 1280 and 390 px; the page passes axe and does not scroll sideways."""
from __future__ import annotations

from playwright.sync_api import expect

from portal.cli import demo
from portal.extensions import db
from portal.models import CrmConnection
from portal.services.crm import org_sync
from tests.browser.audit import axe_violations, overflow, too_wide
from tests.browser.conftest import screenshot, signed_in_at_each_size
from tests.crm_fixtures import make_salesforce_connection


def test_admin_chooses_the_kinds_the_master_and_the_record_types(app, browser, live_server, sf_sandbox):
    with app.app_context():
        demo.seed()
        connection_id = make_salesforce_connection(sf_sandbox.base).id
    for size, page in signed_in_at_each_size(browser, live_server, "admin@acme.example"):
        page.goto(f"/internal/integrations/{connection_id}#org-sync-title")
        card = page.locator("section", has=page.get_by_role("heading", name="Organization sync"))
        expect(card).to_contain_text("Nothing syncs until the matching wizard has run")
        card.get_by_label("Inactive partners").uncheck()
        card.get_by_label("the portal").check()
        card.get_by_label("Specify record types").check()
        card.get_by_label("Accounts created for distributors").select_option(label="Distributor")
        card.get_by_role("button", name="Save the organization sync settings").click()
        expect(page.locator("main")).to_contain_text("The organization sync settings are saved.")
        expect(card.get_by_label("Inactive partners")).not_to_be_checked()
        expect(card.get_by_label("Accounts created for distributors")).to_have_value(
            page.locator("option", has_text="Distributor").first.get_attribute("value"))
        card.scroll_into_view_if_needed()
        screenshot(page, f"org-sync-options-{size}")
        assert overflow(page) == 0, too_wide(page)
        assert axe_violations(page) == []
    with app.app_context():
        settings = org_sync.settings_of(db.session.get(CrmConnection, connection_id))
    assert settings["master"] == "portal" and "inactive_partner" not in settings["kinds"]
    assert settings["record_types"] and list(settings["record_type_ids"]) == ["account_distributor"]
