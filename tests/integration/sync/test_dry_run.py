"""The sync dry run over real HTTP against both sandboxes: its counts (create / update / link / skip)
equal what the real sync then does, with new records, records whose person the CRM already holds,
records synced and unchanged, and records changed since the last push; and it writes nothing to the
CRM (the sandbox's call counts show reads only) and changes no link."""
from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from portal.models import CrmCompany, CrmConnection, CrmDryRunItem, CrmLink, SyncLog
from portal.services import crm
from portal.sync import engine
from tests.crm_fixtures import make_connection, make_salesforce_connection
from tests.factories import ReferralFactory, internal_user, partner_user

# Calls that only read: every GET; HubSpot's batch reads and searches are POSTs that write nothing,
# and Salesforce's token request is the login. A Salesforce Composite call may carry writes, so
# where the dry run makes one (the push's own look-ups: GET subrequests) the test also checks that
# no record of the org changed (`_org_state`).
READ_POSTS = ("/batch/read", "/search", "/services/oauth2/token")


def _writes(stats: dict, also_read: tuple[str, ...] = ()) -> dict:
    return {name: n for name, n in stats["endpoints"].items()
            if not name.startswith("GET ") and not (name.startswith("POST ") and name.endswith(READ_POSTS + also_read))}


def _org_state(sf_sandbox) -> dict:
    return {sobject: {r["Id"]: r["SystemModstamp"] for r in sf_sandbox.query(f"SELECT Id, SystemModstamp FROM {sobject}")}
            for sobject in ("Lead", "Contact", "Account", "Opportunity", "OpportunityContactRole")}


def _portal_state(db, connection_id: int):
    """Everything of the connection's sync state the dry run must leave as it was."""
    links = [tuple(row) for row in db.session.execute(
        db.select(CrmLink.__table__).where(CrmLink.connection_id == connection_id).order_by(CrmLink.id))]
    companies = [tuple(row) for row in db.session.execute(db.select(CrmCompany.__table__).order_by(CrmCompany.id))]
    connection = db.session.execute(db.select(CrmConnection.__table__)
                                    .where(CrmConnection.id == connection_id)).one()
    logs = db.session.scalar(db.select(db.func.count(SyncLog.id)))
    return links, companies, tuple(connection), logs


def _dry_run(db, connection, run_jobs):
    admin = internal_user("admin")
    crm.start_dry_run(connection, by=admin)
    run_jobs()
    db.session.expire_all()
    run = crm.latest_dry_run(connection)
    assert run.status == "done", run.error
    return run


def _items(db, run) -> dict[int, CrmDryRunItem]:
    return {i.entity_id: i for i in db.session.scalars(db.select(CrmDryRunItem).where(
        CrmDryRunItem.dry_run_id == run.id))}


def _pushed_actions(db, after_id: int) -> Counter:
    """What the real push did, from the integration log it wrote: ("Deal", "create") -> n."""
    rows = db.session.scalars(db.select(SyncLog).where(SyncLog.id > after_id, SyncLog.direction == "push",
                                                       SyncLog.status == "ok", SyncLog.entity_id.is_not(None)))
    found = Counter()
    for row in rows:
        verb, noun = row.action.split(" ", 1)
        found[(noun.capitalize(), verb)] += 1
    return found


def _last_log_id(db) -> int:
    return db.session.scalar(db.select(db.func.max(SyncLog.id))) or 0


def _records(run) -> dict:
    return {k: v for k, v in run.counts["records"].items() if v}


def _objects(run, *, without=("skip",)) -> Counter:
    return Counter({(name, action): n for name, by_action in run.counts["objects"].items()
                    for action, n in by_action.items() if n and action not in without})


# ---- HubSpot ------------------------------------------------------------------------------------

@pytest.mark.parametrize("policy, known_contact", [("fill_empty", "update"), ("leave", "link"),
                                                   ("update", "update")])
def test_hubspot_dry_run_counts_equal_what_the_full_sync_then_does_and_it_writes_nothing(
        db, sandbox, run_jobs, policy, known_contact):
    connection = make_connection(sandbox.base, sync_trigger="manual", existing_policy=policy)
    unchanged = ReferralFactory(contact_email="ann@globex.example", company_name="Globex",
                                company_domain="globex.example", estimated_value=Decimal("1200"))
    changed = ReferralFactory(contact_email="bob@hooli.example", company_name="Hooli",
                              company_domain="hooli.example", estimated_value=Decimal("500"))
    for referral in (unchanged, changed):
        crm.sync_now(referral)
    run_jobs()  # the pushes "Sync now" queued
    changed.company_name, changed.estimated_value = "Hooli XYZ", Decimal("750")
    known = sandbox.api("POST", "/crm/v3/objects/contacts",
                        {"properties": {"email": "known@initech.example", "firstname": "Known"}})
    fresh = ReferralFactory(contact_email="new@umbrella.example", company_name="Umbrella",
                            company_domain="umbrella.example")
    existing = ReferralFactory(contact_email="known@initech.example", contact_first_name="Kim",
                               contact_last_name="Known", company_name="Initech", company_domain="initech.example")
    db.session.commit()
    before = _portal_state(db, connection.id)
    records_before = {kind: {r["id"]: r["properties"] for r in sandbox.all(kind, "firstname,lastname,dealname,amount")}
                      for kind in ("deals", "contacts", "companies")}
    sandbox.admin("stats", method="DELETE")

    run = _dry_run(db, connection, run_jobs)

    stats = sandbox.admin("stats", method="GET")
    assert stats["total"] > 0 and _writes(stats) == {}, stats
    assert run.calls == stats["total"]
    assert _portal_state(db, connection.id) == before
    assert {kind: {r["id"]: r["properties"] for r in sandbox.all(kind, "firstname,lastname,dealname,amount")}
            for kind in ("deals", "contacts", "companies")} == records_before
    assert _records(run) == {"create": 2, "update": 1, "skip": 1}
    assert (run.total, run.done) == (4, 4)
    items = _items(db, run)
    assert (items[unchanged.id].action, items[changed.id].action) == ("skip", "update")
    assert items[changed.id].label == changed.number
    assert ["dealname", f"Hooli ({changed.number})", f"Hooli XYZ ({changed.number})"] in items[changed.id].changes
    assert ["amount", "500", "750"] in items[changed.id].changes
    [contact] = [r for r in items[existing.id].related if r["crm_object"] == "Contact"]
    assert (contact["action"], contact["crm_id"]) == (known_contact, known["id"])
    if known_contact == "update":
        assert ["lastname", None, "Known"] in contact["changes"]
    assert {r["crm_object"]: r["action"] for r in items[fresh.id].related} == {"Contact": "create",
                                                                                "Company": "create"}

    first_log = _last_log_id(db)
    pushed = engine.full_sync(connection.id)

    db.session.expire_all()
    after = {kind: {r["id"]: r["properties"] for r in sandbox.all(kind, "firstname,lastname,dealname,amount")}
             for kind in ("deals", "contacts", "companies")}
    did = Counter()
    for kind, noun in (("deals", "Deal"), ("contacts", "Contact"), ("companies", "Company")):
        did[(noun, "create")] = len(set(after[kind]) - set(records_before[kind]))
        updated = [i for i in records_before[kind] if after[kind][i] != records_before[kind][i]]
        did[(noun, "update")] = len(updated)
    # Linked: an existing contact or company that a new deal is now associated with, unchanged.
    did[("Contact", "link")] = int(after["contacts"][known["id"]] == records_before["contacts"][known["id"]]
                                   and bool(sandbox.associated("contacts", known["id"], "deals")))
    assert +did == _objects(run)
    assert +_pushed_actions(db, first_log) == +Counter({k: v for k, v in _objects(run).items() if k[0] == "Deal"})
    assert (pushed.created, pushed.pushed - pushed.created, pushed.skipped) == (
        run.counts["records"]["create"], run.counts["records"]["update"], run.counts["records"]["skip"])


def test_hubspot_dry_run_of_a_connection_that_never_pushed_reads_only(db, sandbox, run_jobs):
    connection = make_connection(sandbox.base, sync_trigger="manual")
    for n in range(3):
        ReferralFactory(contact_email=f"p{n}@acme{n}.example", company_domain=f"acme{n}.example")
    db.session.commit()
    sandbox.admin("stats", method="DELETE")
    run = _dry_run(db, connection, run_jobs)
    assert _writes(sandbox.admin("stats", method="GET")) == {}
    assert _records(run) == {"create": 3}
    assert db.session.scalar(db.select(db.func.count(CrmLink.id))) == 0
    assert sandbox.all("deals") == [] and sandbox.all("contacts") == []


# ---- Salesforce ---------------------------------------------------------------------------------

@pytest.mark.parametrize("policy, lead_match", [("fill_empty", "update"), ("leave", "link")])
def test_salesforce_dry_run_counts_equal_what_the_full_sync_then_does_and_it_writes_nothing(
        db, sf_sandbox, run_jobs, policy, lead_match):
    connection = make_salesforce_connection(sf_sandbox.base, sync_trigger="manual", existing_policy=policy)
    unchanged = ReferralFactory(contact_email="ann@globex.example", contact_last_name="Ann", company_name="Globex")
    changed = ReferralFactory(contact_email="bob@hooli.example", contact_last_name="Bob", company_name="Hooli")
    for referral in (unchanged, changed):
        crm.sync_now(referral)
    run_jobs()  # the pushes "Sync now" queued
    changed.company_name = "Hooli XYZ"
    lead = sf_sandbox.api("POST", "/sobjects/Lead", {"LastName": "Known", "Company": "Known Co",
                                                     "Email": "known@initech.example"})
    contact = sf_sandbox.api("POST", "/sobjects/Contact", {"LastName": "Buyer", "Email": "buyer@acme.example"})
    opportunity = sf_sandbox.api("POST", "/sobjects/Opportunity", {"Name": "Acme renewal", "StageName": "Prospecting",
                                                                   "CloseDate": "2027-01-31"})
    sf_sandbox.api("POST", "/sobjects/OpportunityContactRole", {"OpportunityId": opportunity["id"],
                                                                "ContactId": contact["id"]})
    fresh = ReferralFactory(contact_email="new@umbrella.example", contact_last_name="New", company_name="Umbrella")
    lead_match_referral = ReferralFactory(contact_email="known@initech.example", contact_phone="+1 555 0100")
    contact_match = ReferralFactory(contact_email="buyer@acme.example")
    db.session.commit()
    before = _portal_state(db, connection.id)
    leads_before = {r["Id"]: r for r in sf_sandbox.query(
        "SELECT Id, Company, Phone, Email, Portal_Referral_Id__c FROM Lead")}
    org_before = _org_state(sf_sandbox)
    sf_sandbox.admin("stats", method="DELETE")
    sf_sandbox.admin("clock", {"advance_seconds": 5})  # a write now would stamp a later SystemModstamp

    run = _dry_run(db, connection, run_jobs)

    stats = sf_sandbox.admin("stats", method="GET")
    assert stats["total"] > 0 and _writes(stats, also_read=("/composite",)) == {}, stats
    assert _org_state(sf_sandbox) == org_before
    assert _portal_state(db, connection.id) == before
    assert {r["Id"]: r for r in sf_sandbox.query(
        "SELECT Id, Company, Phone, Email, Portal_Referral_Id__c FROM Lead")} == leads_before
    expected = {"create": 1, "update": 1, "link": 1, "skip": 1}
    expected[lead_match] += 1
    assert _records(run) == expected
    items = _items(db, run)
    assert [(i.action, i.crm_object) for i in (items[unchanged.id], items[changed.id], items[fresh.id],
                                               items[contact_match.id])] == [
        ("skip", "Lead"), ("update", "Lead"), ("create", "Lead"), ("link", "Opportunity")]
    assert items[changed.id].changes == [["Company", "Hooli", "Hooli XYZ"]]
    assert (items[lead_match_referral.id].action, items[lead_match_referral.id].crm_id) == (lead_match, lead["id"])
    assert items[contact_match.id].crm_id == opportunity["id"]
    if lead_match == "update":
        assert ["Phone", None, "+1 555 0100"] in items[lead_match_referral.id].changes

    first_log = _last_log_id(db)
    pushed = engine.full_sync(connection.id)

    db.session.expire_all()
    # The log names each record's own action ("link opportunity"); the Contact it fills is part of it.
    assert +_pushed_actions(db, first_log) == Counter((i.crm_object, i.action) for i in items.values()
                                                      if i.action != "skip")
    assert pushed.skipped == run.counts["records"]["skip"]
    leads_after = {r["Id"]: r for r in sf_sandbox.query(
        "SELECT Id, Company, Phone, Email, Portal_Referral_Id__c FROM Lead")}
    assert len(set(leads_after) - set(leads_before)) == run.counts["records"]["create"]
    # Updated: a Lead whose mapped fields changed (a linked one only gets the portal's id and checkbox).
    fields = ("Company", "Phone", "Email")
    assert sum(any(leads_after[i][f] != leads_before[i][f] for f in fields) for i in leads_before) == \
        run.counts["objects"]["Lead"]["update"]
    assert crm.links_for(contact_match)[0].crm_id == opportunity["id"]
    assert crm.links_for(lead_match_referral)[0].crm_id == lead["id"]


# ---- the page -----------------------------------------------------------------------------------

def test_admin_starts_a_dry_run_from_the_connection_page_and_reads_counts_and_records(db, client, sandbox, run_jobs):
    connection = make_connection(sandbox.base, sync_trigger="manual")
    referrals = [ReferralFactory(contact_email=f"p{n}@firm{n}.example") for n in range(30)]
    db.session.commit()
    client.login(internal_user("admin"))
    page = client.get(f"/internal/integrations/{connection.id}").get_data(as_text=True)
    assert f'action="/internal/integrations/{connection.id}/dry-run"' in page

    assert client.post(f"/internal/integrations/{connection.id}/dry-run").status_code == 400  # no CSRF token
    assert crm.latest_dry_run(connection) is None
    response = client.submit(f"/internal/integrations/{connection.id}/dry-run")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/{connection.id}/dry-run")
    queued = client.get(f"/internal/integrations/{connection.id}/dry-run", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in queued.get_data(as_text=True) and "Queued" in queued.get_data(as_text=True)

    run_jobs()
    html = client.get(f"/internal/integrations/{connection.id}/dry-run").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' not in html and "Dry run finished" in html
    assert "30 records looked at" in html and "nothing was written" in html
    assert html.count('class="badge badge--ok">Create</span>') == 25            # one page of 25
    assert referrals[0].number in html and "Page 1 of 2" in html
    second = client.get(f"/internal/integrations/{connection.id}/dry-run?page=2&action=create",
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert second.count('class="badge badge--ok">Create</span>') == 5 and "<html" not in second
    assert referrals[-1].number in second
    skipped = client.get(f"/internal/integrations/{connection.id}/dry-run?action=skip").get_data(as_text=True)
    assert "No record for this action." in skipped
    assert client.get(f"/internal/integrations/{connection.id}/dry-run?action=nonsense").status_code == 404
    assert db.session.scalar(db.select(db.func.count(CrmLink.id))) == 0


@pytest.mark.parametrize("who, status", [("manager", 403), ("sales", 403), ("partner_admin", 404)])
def test_only_internal_admins_may_run_or_read_a_dry_run(db, client, sandbox, who, status):
    connection = make_connection(sandbox.base)
    client.login(partner_user(who) if who.startswith("partner") else internal_user(who))
    assert client.get(f"/internal/integrations/{connection.id}/dry-run").status_code == status
    assert client.submit(f"/internal/integrations/{connection.id}/dry-run").status_code == status
    assert crm.latest_dry_run(connection) is None


def test_salesforce_dry_run_of_deal_registrations_equals_what_the_full_sync_then_does(db, sf_sandbox):
    from portal.jobs import tasks
    from tests.integration.sync.test_salesforce_deals import _connection, _register, _reseller
    connection = _connection(sf_sandbox, contact_match=True)
    account = sf_sandbox.api("POST", "/sobjects/Account", {"Name": "Globex Corporation"})
    sf_sandbox.api("POST", "/sobjects/Contact", {"LastName": "Scorpio", "Email": "hank@globex.example",
                                                 "AccountId": account["id"]})
    dora = _reseller()
    unchanged = _register(dora, email="ann@initech.example", company="Initech")
    changed = _register(dora, email="bob@hooli.example", company="Hooli")
    for deal in (unchanged, changed):
        crm.sync_deal_now(deal)
    engine.push(connection.id)
    changed.customer_company = "Hooli XYZ"
    on_contact = _register(dora)                                   # hank@globex.example: one Contact
    as_lead = _register(dora, email="new@umbrella.example", company="Umbrella")
    for deal in (changed, on_contact, as_lead):
        crm.sync_deal_now(deal)   # links them (registrations are synced once asked, not all of them)
    db.session.commit()
    before, org_before = _portal_state(db, connection.id), _org_state(sf_sandbox)
    sf_sandbox.admin("stats", method="DELETE")
    sf_sandbox.admin("clock", {"advance_seconds": 5})

    run = crm.start_dry_run(connection, by=internal_user("admin"))
    tasks.crm_dry_run(run.id)   # what the worker runs (the pushes "Sync now" queued stay queued)

    db.session.expire_all()
    run = crm.latest_dry_run(connection)
    assert run.status == "done", run.error
    assert _writes(sf_sandbox.admin("stats", method="GET"), also_read=("/composite",)) == {}
    assert _org_state(sf_sandbox) == org_before and _portal_state(db, connection.id) == before
    items = _items(db, run)
    assert [(items[d.id].action, items[d.id].crm_object) for d in (unchanged, changed, on_contact, as_lead)] == [
        ("skip", "Lead"), ("update", "Lead"), ("create", "Opportunity"), ("create", "Lead")]
    assert ["Company", "Hooli", "Hooli XYZ"] in items[changed.id].changes

    first_log = _last_log_id(db)
    pushed = engine.full_sync(connection.id)

    assert +_pushed_actions(db, first_log) == Counter((i.crm_object, i.action) for i in items.values()
                                                      if i.action != "skip")
    assert pushed.skipped == run.counts["records"]["skip"] == 1


def test_a_dry_run_whose_job_was_lost_is_queued_again_by_the_sweep_and_finishes(db, sandbox, redis_conn, run_jobs):
    from portal.services import sweep
    connection = make_connection(sandbox.base, sync_trigger="manual")
    ReferralFactory()
    db.session.commit()
    run = crm.start_dry_run(connection, by=None)
    redis_conn.flushdb()   # Redis lost the job (restarted, or its worker was killed)
    run_jobs()
    db.session.expire_all()
    assert crm.latest_dry_run(connection).running   # shown as queued, and nothing left to run it
    sweep.run()
    run_jobs()
    db.session.expire_all()
    assert crm.latest_dry_run(connection).status == "done"
    assert _records(crm.latest_dry_run(connection)) == {"create": 1}


def test_a_dry_run_that_salesforce_refuses_says_why_on_its_page_and_writes_nothing(db, client, sf_sandbox, run_jobs):
    connection = make_salesforce_connection(sf_sandbox.base, sync_trigger="manual")
    ReferralFactory(contact_email="ann@globex.example")
    db.session.commit()
    sf_sandbox.admin("org", {"missing": ["Lead.Portal_Referral_Id__c"]})
    client.login(internal_user("admin"))
    client.submit(f"/internal/integrations/{connection.id}/dry-run")
    run_jobs()
    run = crm.latest_dry_run(connection)
    assert run.status == "failed" and "Portal_Referral_Id__c" in run.error
    html = client.get(f"/internal/integrations/{connection.id}/dry-run").get_data(as_text=True)
    assert "The dry run stopped" in html and "Portal_Referral_Id__c" in html and 'hx-trigger="every 1s"' not in html
    assert "Run it again" in html
    assert db.session.scalar(db.select(db.func.count(CrmLink.id))) == 0


def test_hubspot_records_sharing_a_contact_or_company_create_it_once_across_batches(db, sandbox, run_jobs):
    connection = make_connection(sandbox.base, sync_trigger="manual")
    emails = [f"p{n}@firm{n // 2}.example" for n in range(103)] + ["p0@firm0.example"]  # the last: batch 2
    for email in emails:
        ReferralFactory(contact_email=email, company_domain=email.split("@")[1])
    db.session.commit()

    run = _dry_run(db, connection, run_jobs)

    assert _objects(run) == Counter({("Deal", "create"): 104, ("Contact", "create"): 103, ("Contact", "link"): 1,
                                     ("Company", "create"): 52, ("Company", "link"): 52})
    engine.full_sync(connection.id)
    assert (len(sandbox.all("deals")), len(sandbox.all("contacts")), len(sandbox.all("companies"))) == (104, 103, 52)


def test_salesforce_dry_run_of_organizations_and_their_users_equals_what_the_full_sync_then_does(db, sf_sandbox):
    from portal.jobs import tasks
    from portal.services import accounts, organizations
    from tests.integration.sync.test_org_sync import _enable
    connection = _enable(make_salesforce_connection(sf_sandbox.base, sync_trigger="manual"))
    admin = internal_user()
    unchanged = organizations.create(kind="partner", name="Northwind Traders", domain="northwind.example")
    changed = organizations.create(kind="partner", name="Hooli", domain="hooli.example")
    accounts.invite(by=admin, organization=changed, email="gavin@hooli.example", name="Gavin Belson",
                    role="partner_admin")
    engine.full_sync(connection.id)
    changed.name = "Hooli XYZ"
    fresh = organizations.create(kind="partner", name="Umbrella", domain="umbrella.example")
    known = sf_sandbox.api("POST", "/sobjects/Contact", {"LastName": "Wesker", "Email": "albert@umbrella.example"})
    accounts.invite(by=admin, organization=fresh, email="albert@umbrella.example", name="Albert Wesker",
                    role="partner_admin")
    accounts.invite(by=admin, organization=fresh, email="jill@umbrella.example", name="Jill Valentine",
                    role="partner_user")
    db.session.commit()
    before, org_before = _portal_state(db, connection.id), _org_state(sf_sandbox)
    sf_sandbox.admin("stats", method="DELETE")
    sf_sandbox.admin("clock", {"advance_seconds": 5})

    run = crm.start_dry_run(connection, by=admin)
    tasks.crm_dry_run(run.id)

    db.session.expire_all()
    run = crm.latest_dry_run(connection)
    assert run.status == "done", run.error
    assert _writes(sf_sandbox.admin("stats", method="GET"), also_read=("/composite",)) == {}
    assert _org_state(sf_sandbox) == org_before and _portal_state(db, connection.id) == before
    assert run.counts["left_out"] == []
    items = {(i.entity_type, i.label): (i.action, i.crm_object, i.crm_id) for i in _items_all(db, run)}
    assert items[("organization", "Northwind Traders")][:2] == ("skip", "Account")
    assert items[("organization", "Hooli XYZ")][:2] == ("update", "Account")
    assert items[("organization", "Umbrella")][:2] == ("create", "Account")
    users = {label: value for (kind, label), value in items.items() if kind == "user"}
    assert users["jill@umbrella.example"] == ("create", "Contact", None)
    assert users["gavin@hooli.example"][:2] == ("skip", "Contact")
    assert users["albert@umbrella.example"] == ("update", "Contact", known["id"])   # its Contact, by email

    first_log = _last_log_id(db)
    pushed = engine.full_sync(connection.id)

    planned = Counter((i.crm_object, i.action) for i in _items_all(db, run)
                      if i.action != "skip" and i.entity_type in ("organization", "user"))
    assert +Counter({k: v for k, v in _pushed_actions(db, first_log).items() if k[0] in ("Account", "Contact")}) \
        == planned
    assert len(_accounts_and_contacts(sf_sandbox)) == len(org_before["Account"]) + len(org_before["Contact"]) + 2


def _items_all(db, run) -> list[CrmDryRunItem]:
    return list(db.session.scalars(db.select(CrmDryRunItem).where(CrmDryRunItem.dry_run_id == run.id)))


def _accounts_and_contacts(sf_sandbox) -> list[dict]:
    return sf_sandbox.query("SELECT Id FROM Account") + sf_sandbox.query("SELECT Id FROM Contact")
