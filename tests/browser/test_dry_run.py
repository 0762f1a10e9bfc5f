"""An admin runs the sync dry run from the connection page, watches it finish without a reload and
reads what the sync would do: the counts, then the records of one action."""
from __future__ import annotations

import threading

from playwright.sync_api import expect

from portal.cli import demo
from portal.extensions import db
from portal.jobs import queues
from portal.models import CrmLink, Referral
from portal.services import crm
from portal.sync import engine
from tests.browser.audit import SIZES, axe_violations, overflow
from tests.browser.conftest import screenshot, sign_in
from tests.crm_fixtures import make_connection


def test_admin_runs_a_dry_run_from_the_connection_page_and_sees_counts(app, browser, live_server, sandbox):
    with app.app_context():
        demo.seed()
        connection = make_connection(sandbox.base, sync_trigger="manual")
        referrals_ = list(db.session.scalars(db.select(Referral).order_by(Referral.id)))
        synced, changed = referrals_[0], referrals_[1]
        for referral in (synced, changed):
            crm.sync_now(referral)
        engine.push(connection.id)
        changed.company_name = changed.company_name + " Group"
        db.session.commit()
        connection_id, total, changed_number = connection.id, len(referrals_), changed.number
        links_before = [tuple(r) for r in db.session.execute(db.select(CrmLink.__table__).order_by(CrmLink.id))]

    for size, viewport in SIZES.items():
        context = browser.new_context(base_url=live_server, viewport=viewport)
        try:
            page = context.new_page()
            page.set_default_timeout(15_000)
            sign_in(page, "admin@acme.example")
            page.goto(f"/internal/integrations/{connection_id}")
            page.get_by_role("button", name="Dry run", exact=True).click()
            expect(page.get_by_role("heading", name="Dry run: HubSpot (sandbox)")).to_be_visible()
            page.evaluate("window.__marker = 'same-page'")
            worker = threading.Thread(target=queues.run_burst, args=(app,))
            worker.start()
            worker.join(60)
            box = page.locator("#dry-run")
            expect(box).to_have_attribute("data-running", "false")
            assert page.evaluate("window.__marker") == "same-page"   # it polled; no reload
            expect(box).to_contain_text(f"{total} records looked at")
            counts = page.get_by_label("What the sync would do")
            expect(counts.locator(".kpi", has_text="Create")).to_contain_text(str(total - 2))
            expect(counts.locator(".kpi", has_text="Update")).to_contain_text("1")
            expect(counts.locator(".kpi", has_text="Skip")).to_contain_text("1")
            assert not axe_violations(page)
            assert overflow(page) == 0
            screenshot(page, f"dry-run-{size}")
            page.get_by_role("navigation", name="Action").get_by_role("link", name="Update").click()
            row = page.locator(".dry-run-table tbody tr")
            expect(row).to_have_count(1)
            expect(row).to_contain_text(changed_number)
            expect(row).to_contain_text("dealname")
            screenshot(page, f"dry-run-updates-{size}")
        finally:
            context.close()
    with app.app_context():
        assert [tuple(r) for r in db.session.execute(db.select(CrmLink.__table__).order_by(CrmLink.id))] == links_before
