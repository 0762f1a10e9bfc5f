"""An admin walks the organization matching wizard in Chromium against the Salesforce sandbox: the
confirmation, the master, Link / Please select (as they type) / Create / Do Not Sync on the demo
partners, a reload that resumes, the review's counts; the phone layout is checked on the way."""
from __future__ import annotations

import threading

from playwright.sync_api import expect

from portal.cli import demo
from portal.extensions import db
from portal.jobs import queues
from portal.models import CrmLink, Organization
from tests.browser.audit import SIZES, axe_violations, collect_console_errors, overflow, too_wide
from tests.browser.conftest import screenshot, sign_in
from tests.crm_fixtures import make_salesforce_connection


def _seed_accounts(sf_sandbox) -> None:
    """The demo's Accounts (portal/cli/demo.py), as `make run` seeds them."""
    records = [{"attributes": {"type": "Account"}, "Name": name, "Website": website, "Sync_with_Portal__c": flagged,
                **({"Portal_Partner_Status__c": status} if status else {})}
               for name, website, flagged, status, _email in demo.DEMO_ACCOUNTS]
    results = sf_sandbox.api("POST", "/composite/sobjects", {"allOrNone": True, "records": records})
    for (name, *_rest, email), result in zip(demo.DEMO_ACCOUNTS, results):
        if email:
            sf_sandbox.api("POST", "/sobjects/Contact", {"LastName": name.split()[0], "Email": email,
                                                         "AccountId": result["id"]})


def _audit(page, name: str) -> None:
    screenshot(page, name)
    assert overflow(page) == 0, too_wide(page)
    assert axe_violations(page) == []


def test_admin_walks_the_matching_wizard_and_it_resumes_after_a_reload(app, browser, live_server, sf_sandbox):
    with app.app_context():
        demo.seed()
        connection = make_salesforce_connection(sf_sandbox.base)
        orgs = {o.name: o.id for o in db.session.scalars(db.select(Organization))}
        connection_id = connection.id
    _seed_accounts(sf_sandbox)

    context = browser.new_context(base_url=live_server, viewport=SIZES["desktop"])
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = collect_console_errors(page)
    sign_in(page, "admin@acme.example")
    page.goto(f"/internal/integrations/{connection_id}")
    page.get_by_role("link", name="Match organizations", exact=True).first.click()

    # Step 1: nothing goes on without the confirmation.
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".field__error")).to_contain_text("Confirm that the “Sync with Portal” flag")
    page.get_by_label("I have set the sync flag and status on the matching Accounts").check()
    _audit(page, "org-matching-confirm-wide")
    page.get_by_role("button", name="Continue").click()

    # Step 2: the master.
    page.get_by_label("Salesforce: where both have a value").check()
    _audit(page, "org-matching-master-wide")
    page.get_by_role("button", name="Continue").click()

    # Step 3: the demo partners with their suggestions.
    expect(page.get_by_role("heading", name="Organizations and their Accounts")).to_be_visible()
    northwind, bluebird = page.locator(f"#org-{orgs['Northwind Consulting']}"), page.locator(f"#org-{orgs['Bluebird Digital']}")
    atlas, cobalt = page.locator(f"#org-{orgs['Atlas Distribution']}"), page.locator(f"#org-{orgs['Cobalt Systems']}")
    expect(northwind).to_contain_text("Score 100")
    expect(bluebird).to_contain_text("BLUEBIRD DIGITAL Ltd.")
    expect(bluebird).to_contain_text("Same name once legal forms, punctuation and case are ignored")
    expect(atlas).to_contain_text("its users’ email domain atlas.example is the Account’s")
    expect(cobalt).to_contain_text("No suggestion")
    _audit(page, "org-matching-list-wide")

    page.evaluate("window.__marker = 'same-page'")
    northwind.get_by_role("button", name="Link").click()
    expect(northwind).to_contain_text("Linked to Northwind Consulting")
    bluebird.get_by_role("button", name="Link").click()
    expect(bluebird).to_contain_text("Linked to BLUEBIRD DIGITAL Ltd.")
    atlas.get_by_role("button", name="Create New Account").click()
    expect(atlas.locator(".match-row__decision")).to_contain_text("Create New Account")
    atlas.get_by_role("button", name="Do Not Sync").click()
    expect(atlas.locator(".match-row__decision")).to_contain_text("Do Not Sync")
    cobalt.get_by_text("Please select another Account").click()
    cobalt.get_by_role("searchbox").press_sequentially("fabri", delay=40)
    choice = cobalt.get_by_role("button", name="Fabrikam Resellers Inc.")
    expect(choice).to_be_visible()
    screenshot(page, "org-matching-select-wide")
    choice.click()
    expect(cobalt).to_contain_text("Linked to Fabrikam Resellers Inc.")
    expect(page.locator("#match-counts")).to_contain_text("Link 3")
    expect(page.locator("#match-counts")).to_contain_text("Undecided 0")
    assert page.evaluate("window.__marker") == "same-page"

    # Left and come back: the decisions are there.
    page.reload()
    expect(page.locator(f"#org-{orgs['Cobalt Systems']}")).to_contain_text("Linked to Fabrikam Resellers Inc.")
    expect(page.locator(f"#org-{orgs['Atlas Distribution']} .match-row__decision")).to_contain_text("Do Not Sync")
    with app.app_context():
        links = {link.entity_id: link for link in db.session.scalars(db.select(CrmLink).where(
            CrmLink.entity_type == "organization"))}
        assert links[orgs["Atlas Distribution"]].state == "unlinked"
        assert links[orgs["Cobalt Systems"]].crm_id is not None

    # Step 4: the counts.
    page.get_by_role("link", name="Review and start the sync").click()
    review = page.locator(".match-summary")
    expect(review).to_contain_text("Link to an existing Account")
    assert [review.locator(f'[data-count="{k}"]').inner_text() for k in ("link", "create", "skip", "undecided")] == [
        "3", "0", "1", "0"]
    _audit(page, "org-matching-review-wide")

    # The phone: the list stacks, nothing scrolls sideways, the type-ahead fits.
    phone = browser.new_context(base_url=live_server, viewport=SIZES["phone"])
    small = phone.new_page()
    sign_in(small, "admin@acme.example")
    small.goto(f"/internal/integrations/{connection_id}/org-matching")
    expect(small.get_by_role("heading", name="Organizations and their Accounts")).to_be_visible()
    row = small.locator(f"#org-{orgs['Northwind Consulting']}")
    row.get_by_text("Please select another Account").click()
    row.get_by_role("searchbox").press_sequentially("con", delay=40)
    expect(row.get_by_role("button", name="Contoso Partners")).to_be_visible()
    _audit(small, "org-matching-list-narrow")
    small.goto(f"/internal/integrations/{connection_id}/org-matching/confirm")
    _audit(small, "org-matching-confirm-narrow")
    small.goto(f"/internal/integrations/{connection_id}/org-matching/review")
    _audit(small, "org-matching-review-narrow")
    phone.close()

    # The initial sync: queued, then running (the worker is off in tests: it runs here), then done.
    page.get_by_role("button", name="Start the initial sync").click()
    progress = page.locator("#org-sync-progress")
    expect(progress).to_have_attribute("data-running", "true")
    worker = threading.Thread(target=queues.run_burst, args=(app,))
    worker.start()
    worker.join(60)
    expect(progress).to_contain_text("The initial sync finished", timeout=15_000)
    expect(progress).to_have_attribute("data-running", "false")
    assert page.evaluate("window.__marker") is None  # a new page after the post, then polled in place
    _audit(page, "org-matching-sync-wide")
    accounts = {r["Name"]: r for r in sf_sandbox.query("SELECT Name, Portal_Org_Id__c FROM Account")}
    assert accounts["Northwind Consulting"]["Portal_Org_Id__c"] == str(orgs["Northwind Consulting"])
    assert accounts["Fabrikam Resellers Inc."]["Portal_Org_Id__c"] == str(orgs["Cobalt Systems"])
    assert errors == []
    phone = browser.new_context(base_url=live_server, viewport=SIZES["phone"])
    small = phone.new_page()
    sign_in(small, "admin@acme.example")
    small.goto(f"/internal/integrations/{connection_id}/org-matching")   # a finished run: its sync page
    expect(small.locator("#org-sync-progress")).to_contain_text("The initial sync finished")
    _audit(small, "org-matching-sync-narrow")
    small.goto(f"/internal/integrations/{connection_id}/org-matching/master")   # no run under way: step 1
    expect(small.get_by_label("I have set the sync flag and status on the matching Accounts")).to_be_visible()
    phone.close()
    context.close()
