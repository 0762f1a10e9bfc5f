"""Bulk reject in the review queues (referrals, deal registrations), with and without JavaScript, with
and without a reason: the page keeps its navigation and shows the outcome."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from portal.cli import demo
from portal.extensions import db
from portal.models import DealRegistration, Referral
from tests.browser.audit import axe_violations, collect_console_errors
from tests.browser.conftest import screenshot, sign_in


@dataclass(frozen=True)
class Queue:
    name: str
    path: str
    results: str        # the element the rows live in
    waiting: object     # a select of the records waiting in the queue, oldest first
    state: object       # what says a record was rejected
    done: str


QUEUES = {
    "referrals": Queue("referrals", "/internal/referrals/queue", "#queue-results",
                       db.select(Referral).where(Referral.stage == "submitted").order_by(Referral.id),
                       lambda record: record.stage, "2 of 2 referrals rejected."),
    "deals": Queue("deals", "/internal/deals/queue", "#deal-queue-results",
                   db.select(DealRegistration).where(DealRegistration.status.in_(["submitted", "pre_approved"]))
                   .order_by(DealRegistration.created_at, DealRegistration.id),
                   lambda record: record.status, "2 of 2 registrations rejected."),
}


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
@pytest.mark.parametrize("queue", QUEUES.values(), ids=QUEUES.keys())
def test_bulk_reject_shows_an_inline_error_without_a_reason_then_rejects_in_place(app, browser, live_server,
                                                                                   queue, javascript):
    with app.app_context():
        demo.seed()
        waiting = list(db.session.scalars(queue.waiting))
        numbers = [record.number for record in waiting]
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 800},
                                  java_script_enabled=javascript)
    kind = f"{queue.name}-{'htmx' if javascript else 'no-js'}"
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors = collect_console_errors(page)
        sign_in(page, "manager@acme.example")
        page.goto(queue.path)
        if javascript:
            page.evaluate("window.__marker = 'same-page'")
        # Ticking rows, choosing the action or typing in the navigation's quick find is no filter change:
        # the queue must not reload under the reviewer (its filters listen to their own form only).
        reloads = []
        page.on("request", lambda request: reloads.append(request.url)
                if request.method == "GET" and queue.path in request.url else None)
        if javascript:
            page.get_by_role("navigation", name="Main").get_by_role("searchbox").fill("Glo")
            page.wait_for_load_state("networkidle")
        for number in numbers[:2]:
            page.get_by_label(f"Select {number}").check()
        page.get_by_label("With the selected").select_option("reject")
        page.get_by_role("button", name="Apply").click()

        reason = page.get_by_label("Reason (for rejecting)")
        expect(page.locator("#reason-error")).to_have_text("Give the partners a reason.")
        expect(reason).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        expect(page.get_by_label(f"Select {numbers[0]}")).to_be_checked()
        assert not reloads, reloads
        if javascript:  # axe-core runs in the page, so only where the page may run scripts
            assert not axe_violations(page)
        screenshot(page, f"bulk-reject-no-reason-{kind}")

        reason.fill("Outside our market for now.")
        page.get_by_role("button", name="Apply").click()
        expect(page.locator("#flash-region")).to_contain_text(queue.done)
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        if javascript:
            # The rows changed where they are; the page itself was never replaced.
            for number in numbers[:2]:
                row = page.locator(f"{queue.results} tbody tr", has_text=number)
                expect(row.locator(".badge")).to_have_text("Rejected")
            assert page.evaluate("window.__marker") == "same-page"
            expect(page.get_by_label("Reason (for rejecting)")).to_have_value("")
        else:
            for number in numbers[:2]:
                expect(page.locator(queue.results)).not_to_contain_text(number)
        screenshot(page, f"bulk-reject-done-{kind}")
        assert not errors, errors
    finally:
        context.close()
    with app.app_context():
        assert [queue.state(db.session.get(type(record), record.id)) for record in waiting[:2]] == ["rejected"] * 2


def test_the_queue_and_list_filters_still_filter_as_they_change(app, browser, live_server):
    with app.app_context():
        demo.seed()
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors = collect_console_errors(page)
        sign_in(page, "manager@acme.example")
        page.goto("/internal/deals/queue")
        rows = page.locator("#deal-queue-results tbody tr")
        page.get_by_label("Status").select_option("pre_approved")
        expect(rows.locator("[data-status]")).to_have_text(["Pre-approved"])
        expect(page).to_have_url(re.compile(r"status=pre_approved"))
        page.get_by_label("Possible conflicts only").check()
        expect(page).to_have_url(re.compile(r"flagged=1"))

        page.goto("/internal/deals")
        page.get_by_label("Status").select_option("rejected")
        expect(page.locator("#deal-results tbody tr [data-status]")).to_have_text(["Rejected"])
        page.get_by_label("Search").fill("Initrode")
        expect(page.locator("#deal-results tbody tr")).to_contain_text(["No registration matches."])
        assert not errors, errors
    finally:
        context.close()
