"""An admin picks "create a new Contact" on a Salesforce connection and adds a Contact rule, in
Chromium at 1280 and 390 px: the pages say Salesforce (never HubSpot), pass axe and do not scroll
sideways."""
from __future__ import annotations

from playwright.sync_api import expect

from portal.cli import demo
from portal.extensions import db
from portal.models import CrmConnection
from tests.browser.audit import axe_violations, overflow, too_wide
from tests.browser.conftest import screenshot, signed_in_at_each_size
from tests.crm_fixtures import make_salesforce_connection


def test_admin_sets_a_salesforce_connections_record_and_a_contact_rule(app, browser, live_server, sf_sandbox):
    with app.app_context():
        demo.seed()
        connection_id = make_salesforce_connection(sf_sandbox.base).id
    for size, page in signed_in_at_each_size(browser, live_server, "admin@acme.example"):
        page.goto(f"/internal/integrations/{connection_id}")
        main = page.locator("main")
        _record_choice(page, "A Lead (the default)")
        expect(main).to_contain_text("A customer that already exists in Salesforce")
        assert "HubSpot" not in main.inner_text()
        screenshot(page, f"salesforce-connection-{size}")
        assert overflow(page) == 0, too_wide(page)
        assert axe_violations(page) == []

        page.get_by_role("link", name="Field mappings and rules").click()
        expect(page.get_by_label("Row 1: Salesforce field")).to_be_visible()
        page.get_by_label("a Contact field changes from its first value to one of").check()
        page.get_by_label("Contact field", exact=True).select_option("Title")
        page.get_by_label("Property values (comma-separated)").fill(f"CEO {size}")
        page.get_by_label("Then the referral status becomes").select_option("lost")
        page.get_by_role("button", name="Add the rule").click()
        expect(main).to_contain_text("The rule is added.")
        expect(page.locator("#rules")).to_contain_text(f"CEO {size}")
        assert "HubSpot" not in main.inner_text()
        screenshot(page, f"salesforce-mappings-{size}")
        assert overflow(page) == 0, too_wide(page)
        assert axe_violations(page) == []

        _record_choice(page, "A new Contact (Referral Factory's “create a new Contact”)")
    with app.app_context():
        connection = db.session.get(CrmConnection, connection_id)
        assert connection.options["referral_record"] == "Contact"
        assert [(r.trigger, r.crm_property) for r in connection.rules] == [("contact", "Title")] * 2


def _record_choice(page, label: str) -> None:
    page.get_by_role("navigation", name="Connection").get_by_role("link", name="Settings").click()
    page.get_by_label(label).check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("main")).to_contain_text("The connection is saved.")
    expect(page.get_by_label(label)).to_be_checked()
