"""A failed push in the integration log reads as plain language and links to the place to fix it."""
from __future__ import annotations

from playwright.sync_api import expect

from portal.cli import demo
from portal.extensions import db
from portal.models import Referral
from portal.services import crm
from portal.sync import engine
from tests.browser.audit import SIZES, axe_violations, overflow
from tests.browser.conftest import screenshot, sign_in
from tests.crm_fixtures import make_connection


def test_a_failed_push_reads_as_plain_language_and_links_to_field_mappings(app, browser, live_server, sandbox):
    with app.app_context():
        demo.seed()
        connection = make_connection(sandbox.base, sync_trigger="manual")
        # The default mappings send the close date; point it at a free-text field so the push fails.
        rows = [m for m in crm.mappings_of(connection) if m.crm_field != "closedate"]
        crm.save_mappings(connection, rows + [crm.mapping.Mapping("deal", "closedate", "notes")])
        bad = db.session.scalar(db.select(Referral).order_by(Referral.id))
        bad.notes = "next spring"
        db.session.commit()
        crm.sync_now(bad)
        engine.push(connection.id)
        number, connection_id = bad.number, connection.id

    for size, viewport in SIZES.items():
        context = browser.new_context(base_url=live_server, viewport=viewport)
        try:
            page = context.new_page()
            page.set_default_timeout(10_000)
            sign_in(page, "admin@acme.example")
            page.goto("/internal/integrations/log")
            run = page.locator(".log-run").first
            expect(run.get_by_role("heading")).to_contain_text("1 failed")
            entry = run.locator(".log-entry--error", has_text=number)
            expect(entry).to_contain_text("expects a date, and the referral's value “next spring” is not one.")
            expect(entry).to_contain_text("Map a date field to that property in Field mappings")
            assert "Traceback" not in entry.inner_text() and "{" not in entry.locator(".log-entry__line").inner_text()
            raw = entry.locator("details")
            expect(raw.locator("dd").first).to_be_hidden()
            raw.locator("summary").click()
            expect(raw).to_contain_text("closedate")
            assert not axe_violations(page)
            assert overflow(page) == 0
            screenshot(page, f"integration-log-failed-push-{size}")
            page.get_by_label("Result").select_option("error")
            expect(page.locator("#log-results")).to_contain_text("expects a date")
            entry = page.locator(".log-entry--error", has_text=number)
            entry.get_by_role("link", name="Open Field mappings").click()
            expect(page).to_have_url(f"/internal/integrations/{connection_id}/mappings")
        finally:
            context.close()
