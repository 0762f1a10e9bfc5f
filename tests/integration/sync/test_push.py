"""Push: referrals become HubSpot deals with their contact and company, idempotently, in batches."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal


from portal.models import CrmCompany, CrmLink, SyncLog
from portal.services import crm, referrals
from portal.sync import engine
from tests.factories import OrganizationFactory, ReferralFactory, internal_user, partner_user
from tests.crm_fixtures import make_connection


def _refer(partner, email, company, domain=None, **kwargs):
    data = referrals.ReferralInput(contact_first_name="Casey", contact_last_name=company, contact_email=email,
                                   company_name=company, company_domain=domain, estimated_value=Decimal("1200"),
                                   consent=True, **kwargs)
    return referrals.submit(data, partner_org=partner.organization, by=partner).referral


def test_three_referrals_give_three_deals_three_contacts_two_companies_and_a_second_sync_creates_nothing(
        db, sandbox, connection, run_jobs):
    existing = sandbox.api("POST", "/crm/v3/objects/contacts",
                           {"properties": {"email": "known@initech.example", "firstname": "Known"}})
    partner = partner_user()
    first = _refer(partner, "ann@globex.example", "Globex")
    second = _refer(partner, "bob@globex.example", "Globex")
    third = _refer(partner, "known@initech.example", "Initech")
    assert db.session.scalar(db.select(db.func.count(CrmLink.id)).where(CrmLink.dirty.is_(True))) == 3

    run_jobs()  # crm-push:{id} was enqueued once after the commits (coalesced)

    deals = sandbox.all("deals", "portal_referral_id,dealname,dealstage,amount")
    contacts = sandbox.all("contacts", "email,firstname")
    companies = sandbox.all("companies", "domain,name")
    assert len(deals) == 3 and len(contacts) == 3 and len(companies) == 2
    assert {c["properties"]["domain"] for c in companies} == {"globex.example", "initech.example"}
    known = next(c for c in contacts if c["id"] == existing["id"])
    assert known["properties"]["firstname"] == "Known"  # fill-only-empty policy left it alone
    by_referral = {d["properties"]["portal_referral_id"]: d for d in deals}
    company_ids = {c["properties"]["domain"]: c["id"] for c in companies}
    contact_ids = {c["properties"]["email"]: c["id"] for c in contacts}
    for referral, email, domain in ((first, "ann@globex.example", "globex.example"),
                                    (second, "bob@globex.example", "globex.example"),
                                    (third, "known@initech.example", "initech.example")):
        deal = by_referral[str(referral.id)]
        assert deal["properties"]["dealstage"] == "appointmentscheduled"
        assert deal["properties"]["amount"] == "1200"
        assert sandbox.associated("deals", deal["id"], "contacts") == {contact_ids[email]}
        assert sandbox.associated("deals", deal["id"], "companies") == {company_ids[domain]}
        assert company_ids[domain] in sandbox.associated("contacts", contact_ids[email], "companies")
        link = crm.links_for(referral)[0]
        assert (link.state, link.dirty, link.crm_id) == ("synced", False, deal["id"])
        assert link.url.endswith(f"/ui/deals/{deal['id']}")

    sandbox.admin("stats", method="DELETE")
    engine.full_sync(connection.id)
    assert len(sandbox.all("deals")) == 3 and len(sandbox.all("contacts")) == 3
    assert len(sandbox.all("companies")) == 2
    calls = sandbox.admin("stats", method="GET")["endpoints"]
    assert not any("batch/upsert" in name or "batch/create" in name for name in calls), calls


def test_a_status_change_updates_the_deal_stage(db, sandbox, connection, run_jobs):
    referral = ReferralFactory()
    crm.sync_now(referral)
    run_jobs()
    referrals.mark_lost(referral, reason="Went elsewhere", by=None)
    run_jobs()
    [deal] = sandbox.all("deals", "dealstage")
    assert deal["properties"]["dealstage"] == "closedlost"


def test_one_invalid_deal_is_recorded_on_its_link_and_the_others_go_through(db, sandbox, connection):
    rows = [m for m in crm.mappings_of(connection) if m.crm_field != "closedate"] + [
        crm.mapping.Mapping("deal", "closedate", "notes")]
    crm.save_mappings(connection, rows)
    good = [ReferralFactory(notes=None) for _ in range(4)]
    bad = ReferralFactory(notes="not a date")
    for referral in good + [bad]:
        crm.sync_now(referral)

    stats = engine.push(connection.id)

    assert stats.pushed == 4 and stats.errors == 1
    assert len(sandbox.all("deals")) == 4
    [link] = crm.links_for(bad)
    assert link.state == "error" and "not a valid date" in link.last_error and not link.dirty
    assert all(crm.links_for(r)[0].state == "synced" for r in good)
    errors = crm.log_entries(crm.LogFilters(entity_id=bad.id, status="error"))
    assert errors and "not a valid date" in errors[0].message


def test_free_mail_contacts_get_no_company(db, sandbox, connection):
    referral = ReferralFactory(contact_email="someone@gmail.com", company_domain=None)
    crm.sync_now(referral)
    engine.push(connection.id)
    assert len(sandbox.all("contacts")) == 1 and sandbox.all("companies") == []
    [link] = crm.links_for(referral)
    assert link.company_crm_id is None and link.state == "synced"


def test_unlink_keeps_the_next_sync_from_recreating_the_deal_until_someone_asks(db, sandbox, connection):
    referral = ReferralFactory()
    crm.sync_now(referral)
    engine.push(connection.id)
    [deal] = sandbox.all("deals")
    sandbox.api("DELETE", f"/crm/v3/objects/deals/{deal['id']}")

    crm.unlink(referral)
    referrals.mark_lost(referral, reason="No budget", by=None)
    engine.full_sync(connection.id)
    assert sandbox.all("deals") == []
    assert crm.links_for(referral)[0].state == "unlinked"

    crm.sync_now(referral)
    engine.push(connection.id)
    assert len(sandbox.all("deals")) == 1
    assert crm.links_for(referral)[0].state == "synced"


def test_manual_trigger_marks_nothing_until_sync_now(db, sandbox):
    connection = make_connection(sandbox.base, sync_trigger="manual")
    referral = ReferralFactory()
    referrals.mark_lost(referral, reason="x", by=None)
    assert crm.links_for(referral) == []
    crm.sync_now(referral)
    engine.push(connection.id)
    assert len(sandbox.all("deals")) == 1


def test_no_connection_means_no_links(db):
    partner = partner_user(organization=OrganizationFactory())
    referral = _refer(partner, "x@y.example", "Y")
    assert crm.links_for(referral) == []


def test_a_company_that_exists_in_hubspot_is_found_by_domain_not_duplicated(db, sandbox, connection):
    sandbox.api("POST", "/crm/v3/objects/companies", {"properties": {"domain": "acme-co.example", "name": "Acme"}})
    referral = ReferralFactory(contact_email="x@acme-co.example", company_domain="acme-co.example")
    crm.sync_now(referral)
    engine.push(connection.id)
    assert len(sandbox.all("companies")) == 1
    assert db.session.scalar(db.select(CrmCompany.domain)) == "acme-co.example"


def test_429s_for_20_seconds_and_500s_on_30_percent_still_sync_everything_once(db, sandbox, connection):
    referrals_ = [ReferralFactory() for _ in range(150)]
    for referral in referrals_:
        crm.sync_now(referral)
    sandbox.admin("faults", {"force_429_seconds": 20, "fail_ratio": 0.3, "status": 500})

    for _ in range(5):  # the job would be retried by RQ; here the test plays RQ
        try:
            engine.push(connection.id)
            break
        except crm.CrmError:
            continue
    sandbox.admin("faults", method="DELETE")

    deals = sandbox.all("deals", "portal_referral_id")
    keys = [d["properties"]["portal_referral_id"] for d in deals]
    assert len(keys) == len(set(keys)) == 150
    assert len(sandbox.all("contacts")) == 150 and len(sandbox.all("companies")) == 150
    assert all(crm.links_for(r)[0].state == "synced" for r in referrals_)
    logged = {row.message.split(":")[0] for row in db.session.scalars(
        db.select(SyncLog).where(SyncLog.status.in_(["retry", "error"])))}
    assert {"429", "500"} <= logged


def test_a_manual_won_sends_the_won_amount_and_close_date_with_the_stage(db, client, sandbox, connection, run_jobs):
    referral = ReferralFactory(estimated_value=Decimal("1000"))
    crm.sync_now(referral)
    run_jobs()
    won_at = datetime(2026, 11, 30, 15, 30, tzinfo=timezone.utc)
    referrals.mark_won(referral, amount=Decimal("4321.50"), won_at=won_at, by=None)
    run_jobs()
    [deal] = sandbox.all("deals", "dealstage,amount,closedate")
    assert deal["properties"]["dealstage"] == "closedwon"
    assert Decimal(deal["properties"]["amount"]) == Decimal("4321.50")
    assert deal["properties"]["closedate"].startswith("2026-11-30T15:30:00")
    # The mapping editor shows both, mapped by default.
    client.login(internal_user("admin"))
    html = client.get(f"/internal/integrations/{connection.id}/mappings").get_data(as_text=True)
    assert '<option selected value="deal.amount">' in html and '<option selected value="deal.closedate">' in html
    assert '<option selected value="deal_amount">' in html and '<option selected value="close_date">' in html
