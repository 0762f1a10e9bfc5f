"""Deal registrations ↔ Salesforce (#13) over real HTTP against the sandbox: a Lead by default; with
"Opportunity on contact match" an Opportunity on the one matching Contact's Account with its contact
role (else a Lead); pushes on the chosen events only; the pull follows a converted Lead and Closed
Won marks the registration (and its referral) won through the deal services; Opportunities imported
as registrations of a partner, a second import of the same one refused."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from portal.extensions import db as _db
from portal.models import Commission, CrmLink, DealRegistration
from portal.services import crm, deals, leads, referrals
from portal.sync import engine
from tests.crm_fixtures import make_salesforce_connection
from tests.factories import CommissionPlanFactory, OrganizationFactory, ReferralFactory, internal_user, partner_user

ENTITY = "deal_registration"


def _connection(sf_sandbox, *, events=(), contact_match=False):
    connection = make_salesforce_connection(sf_sandbox.base, sync_trigger="manual")
    return crm.save_deal_options(connection, events=list(events), contact_match=contact_match)


def _reseller():
    org = OrganizationFactory(name="Atlas Resellers", tier="platinum")
    return partner_user("partner_admin", organization=org, name="Dora", email="dora@atlas.example")


def _register(by, email="hank@globex.example", **kwargs):
    data = deals.DealInput(customer_company=kwargs.pop("company", "Globex"), customer_domain="globex.example",
                           contact_name="Hank Scorpio", contact_email=email, amount=Decimal("48000"),
                           currency="USD", expected_close=date(2027, 3, 31), products="Platform, 200 seats")
    return deals.register(data, by=by, **kwargs)


def _links(deal) -> list[CrmLink]:
    _db.session.expire_all()
    return list(_db.session.scalars(_db.select(CrmLink).where(CrmLink.entity_type == ENTITY,
                                                              CrmLink.entity_id == deal.id)))


def _push(connection, deal) -> CrmLink:
    crm.sync_deal_now(deal)
    engine.push(connection.id)
    [link] = _links(deal)
    return link


def test_a_registration_becomes_a_lead_upserted_on_its_portal_id(db, sf_sandbox):
    connection = _connection(sf_sandbox)
    deal = _register(_reseller())
    link = _push(connection, deal)
    assert link.state == "synced" and link.crm_id.startswith("00Q"), link.last_error
    [lead] = sf_sandbox.query("SELECT Id, FirstName, LastName, Company, Email, Description, Portal_Deal_Id__c, "
                              "Sync_with_Portal__c FROM Lead")
    assert (lead["Id"], lead["Portal_Deal_Id__c"], lead["Sync_with_Portal__c"]) == (link.crm_id, str(deal.id), True)
    assert (lead["FirstName"], lead["LastName"], lead["Company"]) == ("Hank", "Scorpio", "Globex")
    assert deal.number in lead["Description"] and "Atlas Resellers" in lead["Description"]
    # Pushed again (a retry, a second Sync now): the same Lead.
    deal.customer_company = "Globex Corporation"
    _db.session.commit()
    link = _push(connection, deal)
    assert [(r["Id"], r["Company"]) for r in sf_sandbox.query("SELECT Id, Company FROM Lead")] == [
        (link.crm_id, "Globex Corporation")]


def test_contact_match_on_one_contact_creates_an_opportunity_on_its_account_with_the_role(db, sf_sandbox):
    connection = _connection(sf_sandbox, contact_match=True)
    account = sf_sandbox.api("POST", "/sobjects/Account", {"Name": "Globex Corporation"})
    contact = sf_sandbox.api("POST", "/sobjects/Contact", {"LastName": "Scorpio", "Email": "Hank@globex.example",
                                                           "AccountId": account["id"]})
    deal = _register(_reseller())
    link = _push(connection, deal)
    assert link.state == "synced" and link.crm_id.startswith("006"), link.last_error
    [opportunity] = sf_sandbox.query("SELECT Id, Name, AccountId, Amount, CloseDate, StageName, Portal_Deal_Id__c, "
                                     "Sync_with_Portal__c, (SELECT ContactId FROM OpportunityContactRoles) "
                                     "FROM Opportunity")
    assert (opportunity["Id"], opportunity["AccountId"], opportunity["Portal_Deal_Id__c"]) == (
        link.crm_id, account["id"], str(deal.id))
    assert (opportunity["Amount"], opportunity["CloseDate"], opportunity["Sync_with_Portal__c"]) == (
        48000.0, "2027-03-31", True)
    assert [r["ContactId"] for r in opportunity["OpportunityContactRoles"]["records"]] == [contact["id"]]
    assert sf_sandbox.query("SELECT Id FROM Lead") == []
    assert link.url.endswith(f"/lightning/r/Opportunity/{link.crm_id}/view")
    # A second push changes nothing: still one Opportunity, one role.
    crm.sync_deal_now(deal)
    engine.push(connection.id)
    assert len(sf_sandbox.query("SELECT Id FROM OpportunityContactRole")) == 1
    assert len(sf_sandbox.query("SELECT Id FROM Opportunity")) == 1


@pytest.mark.parametrize("contact_match", [False, True], ids=["lead", "opportunity"])
def test_a_record_deleted_in_salesforce_unlinks_the_registration_and_says_so(db, sf_sandbox, contact_match):
    connection = _connection(sf_sandbox, contact_match=contact_match)
    if contact_match:  # one Contact with the registration's email: the registration becomes an Opportunity
        account = sf_sandbox.api("POST", "/sobjects/Account", {"Name": "Globex Corporation"})
        sf_sandbox.api("POST", "/sobjects/Contact", {"LastName": "Scorpio", "Email": "hank@globex.example",
                                                     "AccountId": account["id"]})
    dora = _reseller()
    deal = _register(dora)
    kept = _register(dora, email="lisa@initech.example", company="Initech")
    crm_id, kept_id = _push(connection, deal).crm_id, _push(connection, kept).crm_id
    sobject = "Opportunity" if contact_match else "Lead"
    assert crm_id.startswith("006" if contact_match else "00Q")
    engine.pull(connection.id)
    sf_sandbox.api("DELETE", f"/sobjects/{sobject}/{crm_id}")

    assert engine.pull(connection.id).errors == 0
    [link] = _links(deal)
    assert link.state == "unlinked" and link.crm_id is None and not link.dirty
    assert f"{sobject} {crm_id} was deleted in Salesforce" in link.last_error and deal.number in link.last_error
    assert _db.session.get(DealRegistration, deal.id).status == "submitted"  # the registration itself stays
    assert [(k.state, k.crm_id) for k in _links(kept)] == [("synced", kept_id)]
    # Later pulls leave it alone; a person's "Sync now" sends it again, as a new record.
    engine.pull(connection.id)
    assert _links(deal)[0].state == "unlinked"
    again = _push(connection, deal)
    assert again.state == "synced" and again.crm_id not in (None, crm_id), again.last_error


def test_contact_match_on_two_contacts_or_none_creates_a_lead(db, sf_sandbox):
    connection = _connection(sf_sandbox, contact_match=True)
    account = sf_sandbox.api("POST", "/sobjects/Account", {"Name": "Globex"})
    headers = {"Sforce-Duplicate-Rule-Header": "allowSave=true"}
    for name in ("Scorpio", "Scorpio II"):
        sf_sandbox.api("POST", "/sobjects/Contact", {"LastName": name, "Email": "hank@globex.example",
                                                     "AccountId": account["id"]}, headers=headers)
    dora = _reseller()
    twice = _push(connection, _register(dora))
    nobody = _push(connection, _register(dora, email="nobody@initech.example", company="Initech"))
    assert twice.crm_id.startswith("00Q") and nobody.crm_id.startswith("00Q")
    assert sf_sandbox.query("SELECT Id FROM Opportunity") == []
    assert len(sf_sandbox.query("SELECT Id FROM Lead")) == 2


@pytest.mark.parametrize("event", ["created", "pre_approved", "approved"])
def test_a_registration_is_sent_on_the_chosen_event_only(db, sf_sandbox, event):
    connection = _connection(sf_sandbox, events=[event])
    manager = internal_user("manager")
    deal = _register(_reseller())
    sent = {"created": bool(_links(deal))}
    deals.pre_approve(deal, by=manager)
    sent["pre_approved"] = bool(_links(deal)) and not sent["created"]
    deals.approve(deal, by=manager)
    sent["approved"] = bool(_links(deal)) and not any(sent.values())
    assert [e for e, was in sent.items() if was] == [event]
    engine.push(connection.id)
    [lead] = sf_sandbox.query("SELECT Portal_Deal_Id__c FROM Lead")
    assert lead["Portal_Deal_Id__c"] == str(deal.id)


def test_no_event_chosen_sends_nothing_until_sync_now(db, sf_sandbox):
    connection = _connection(sf_sandbox)
    manager = internal_user("manager")
    deal = _register(_reseller())
    deals.approve(deal, by=manager)
    engine.full_sync(connection.id)
    assert _links(deal) == [] and sf_sandbox.query("SELECT Id FROM Lead") == []
    assert _push(connection, deal).crm_id.startswith("00Q")


def test_converted_lead_is_followed_and_closed_won_marks_the_registration_and_its_referral_won(
        db, sf_sandbox, smtp_server, run_jobs):
    connection = _connection(sf_sandbox, events=["created"])
    northwind = OrganizationFactory(name="Northwind", tier="gold")
    jane = partner_user("partner_admin", organization=northwind, email="jane@northwind.example")
    dora = _reseller()
    manager = internal_user("manager")
    CommissionPlanFactory(tier="gold", percent=Decimal("10"), name="Gold referrers")
    referral = ReferralFactory(partner_org=northwind, submitted_by=jane, company_name="Globex",
                               contact_email="hank@globex.example", estimated_value=Decimal("48000"))
    referrals.route_to_reseller(referral, by=manager, reseller=dora.organization)
    lead = leads.current_for(referral)
    leads.accept(lead, by=dora)
    deal = deals.register(deals.input_from_lead(lead), by=dora, lead=lead)
    engine.push(connection.id)
    [link] = _links(deal)
    lead_id = link.crm_id
    assert lead_id.startswith("00Q")
    engine.pull(connection.id)

    opportunity_id = sf_sandbox.convert(lead_id)["ConvertedOpportunityId"]
    engine.pull(connection.id)
    [link] = _links(deal)
    assert link.crm_id == opportunity_id
    assert _db.session.get(DealRegistration, deal.id).status == "submitted"   # Prospecting: nothing decided

    sf_sandbox.api("PATCH", f"/sobjects/Opportunity/{opportunity_id}", {"StageName": "Closed Won", "Amount": 52000})
    stats = engine.pull(connection.id)
    assert stats.status_changes == 1 and stats.errors == 0
    _db.session.expire_all()
    deal = _db.session.get(DealRegistration, deal.id)
    assert (deal.status, deal.won_amount) == ("won", Decimal("52000.00"))
    _db.session.refresh(referral)
    assert (referral.stage, referral.won_amount) == ("won_payment_pending", Decimal("52000.00"))
    commission = _db.session.scalar(_db.select(Commission).where(Commission.referral_id == referral.id))
    assert commission.amount == Decimal("5200.00")
    timeline = [(e.to_status, e.actor_label) for e in deals.timeline(deal)]
    assert ("approved", "Salesforce") in timeline and ("won", "Salesforce") in timeline
    # Nothing goes back: no push is pending for the connection.
    assert not _links(deal)[0].dirty
    run_jobs()
    assert any("won" in m["Subject"] for m in smtp_server.to("dora@atlas.example"))


def _opportunity(sf_sandbox, name, *, stage="Prospecting", close="2027-02-28", amount=10000, email=None):
    account = sf_sandbox.api("POST", "/sobjects/Account", {"Name": f"{name} Inc", "Website": "https://www.acme.example/"})
    opportunity = sf_sandbox.api("POST", "/sobjects/Opportunity", {"Name": name, "StageName": stage, "CloseDate": close,
                                                                   "Amount": amount, "AccountId": account["id"]})
    if email:
        contact = sf_sandbox.api("POST", "/sobjects/Contact", {"FirstName": "Ann", "LastName": "Buyer", "Email": email,
                                                               "AccountId": account["id"]})
        sf_sandbox.api("POST", "/sobjects/OpportunityContactRole", {"OpportunityId": opportunity["id"],
                                                                    "ContactId": contact["id"], "IsPrimary": True})
    return opportunity["id"]


def test_opportunities_are_searched_safely_and_imported_as_linked_registrations_once(db, sf_sandbox):
    connection = _connection(sf_sandbox)
    manager = internal_user("manager")
    dora = _reseller()
    first = _opportunity(sf_sandbox, "Acme 100% renewal", email="ann@acme.example")
    second = _opportunity(sf_sandbox, "Acme O'Brien expansion", stage="Qualification", close="2027-05-31",
                          amount=25000)
    _opportunity(sf_sandbox, "Initech platform", close="2027-09-30")

    def found(**filters):
        return [f.name for f in deals.search_crm(connection, deals.ImportFilters(**filters))]
    assert found(name="acme") == ["Acme 100% renewal", "Acme O'Brien expansion"]
    assert found(name="100%") == ["Acme 100% renewal"]          # % is a character, not a wildcard
    assert found(name="o'brien") == ["Acme O'Brien expansion"]   # quotes escaped
    assert found(name="\\' OR Name != '") == []                   # no way out of the literal
    assert found(stage="Qualification") == ["Acme O'Brien expansion"]
    assert found(close_from=date(2027, 3, 1), close_to=date(2027, 6, 30)) == ["Acme O'Brien expansion"]
    options = deals.crm_search_options(connection)
    owner = sf_sandbox.query(f"SELECT OwnerId FROM Opportunity WHERE Id = '{first}'")[0]["OwnerId"]
    assert owner in dict(options["owners"]) and len(found(owner=owner)) == 3
    other = next(o for o, _ in options["owners"] if o != owner)
    assert found(owner=other) == []
    with pytest.raises(crm.DomainError):
        deals.search_crm(connection, deals.ImportFilters(stage="Closed Won' OR Name != '"))

    made = deals.import_records(connection, [first, second], partner_org_id=dora.organization_id, by=manager)
    assert [(d.customer_company, d.amount, d.status, d.partner_org_id) for d in made] == [
        ("Acme 100% renewal Inc", Decimal("10000.00"), "approved", dora.organization_id),
        ("Acme O'Brien expansion Inc", Decimal("25000.00"), "approved", dora.organization_id)]
    assert (made[0].contact_name, made[0].contact_email, made[0].customer_domain) == (
        "Ann Buyer", "ann@acme.example", "acme.example")
    assert [link.crm_id for link in _links(made[0])] == [first]
    engine.push(connection.id)   # the Opportunity carries the registration's id from now on
    assert sf_sandbox.query(f"SELECT Portal_Deal_Id__c FROM Opportunity WHERE Id = '{first}'")[0][
        "Portal_Deal_Id__c"] == str(made[0].id)
    assert [f.linked for f in deals.search_crm(connection, deals.ImportFilters(name="acme"))] == [
        made[0].number, made[1].number]

    with pytest.raises(crm.DomainError) as refused:
        deals.import_records(connection, [second], partner_org_id=dora.organization_id, by=manager)
    assert f"“Acme O'Brien expansion” is already linked to deal registration {made[1].number}" in refused.value.message
    assert _db.session.scalar(_db.select(_db.func.count(DealRegistration.id))) == 2

    # Won in Salesforce: the imported registration follows.
    engine.pull(connection.id)
    sf_sandbox.api("PATCH", f"/sobjects/Opportunity/{second}", {"StageName": "Closed Won"})
    engine.pull(connection.id)
    _db.session.expire_all()
    assert (_db.session.get(DealRegistration, made[1].id).status,
            _db.session.get(DealRegistration, made[1].id).won_amount) == ("won", Decimal("25000.00"))


def test_pages_deal_options_the_registration_panel_and_the_import(client, db, sf_sandbox):
    connection = _connection(sf_sandbox)
    admin = internal_user("admin", email="ada@vendor.example")
    dora = _reseller()
    client.login(admin)
    page = client.get(f"/internal/integrations/{connection.id}").get_data(as_text=True)
    assert "Deal registrations" in page and "Opportunity on contact match" in page
    response = client.submit(f"/internal/integrations/{connection.id}/deal-options",
                             {"deal_events": ["created", "approved"], "contact_match": "y"})
    assert response.status_code == 303
    _db.session.expire_all()
    assert crm.deal_options(connection) == {"events": ["created", "approved"], "contact_match": True}

    deal = _register(dora)
    assert len(_links(deal)) == 1             # "created" is chosen: it is on its way
    engine.push(connection.id)
    detail = client.get(f"/internal/deals/{deal.id}").get_data(as_text=True)
    assert "View Lead in Salesforce" in detail and "Sync now" in detail and "View integration log" in detail
    log = client.get(f"/internal/integrations/log?record={deal.number}").get_data(as_text=True)
    assert f'href="/internal/deals/{deal.id}">{deal.number}</a>' in log and "Lead" in log
    assert client.submit(f"/internal/integrations/deals/{deal.id}/sync").status_code == 303
    panel = client.get(f"/internal/integrations/deals/{deal.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="crm-panel"' in panel and "<html" not in panel
    assert client.submit(f"/internal/integrations/deals/{deal.id}/unlink").status_code == 303
    assert _links(deal)[0].state == "unlinked"

    deals_page = client.get("/internal/deals").get_data(as_text=True)
    assert f'href="/internal/integrations/{connection.id}/import"' in deals_page
    opportunity = _opportunity(sf_sandbox, "Hooli cloud", amount=9000)
    listing = client.get(f"/internal/integrations/{connection.id}/import?name=hooli").get_data(as_text=True)
    assert "Hooli cloud" in listing and f'value="{opportunity}"' in listing
    assert client.get(f"/internal/integrations/{connection.id}/import?stage=Nope").status_code == 422
    imported = client.submit(f"/internal/integrations/{connection.id}/import?name=hooli",
                             {"crm_ids": [opportunity], "partner_org_id": dora.organization_id},
                             headers={"HX-Request": "true"})
    assert imported.status_code == 200 and "Imported 1 deal registration" in imported.get_data(as_text=True)
    made = _db.session.scalar(_db.select(DealRegistration).where(DealRegistration.customer_company == "Hooli cloud Inc"))
    assert made.partner_org_id == dora.organization_id and _links(made)[0].crm_id == opportunity
    again = client.submit(f"/internal/integrations/{connection.id}/import?name=hooli",
                          {"crm_ids": [opportunity], "partner_org_id": dora.organization_id})
    assert again.status_code == 422 and "is already linked to deal registration" in again.get_data(as_text=True)
    # Partners never reach these pages.
    client.submit("/logout")
    client.login(dora)
    assert client.get(f"/internal/integrations/{connection.id}/import").status_code in (403, 404)


def test_the_periodic_pull_brings_a_closed_opportunity_back_without_a_full_sync(db, sf_sandbox, run_jobs):
    from portal.jobs import tasks
    from portal.models import CrmConnection
    connection = _connection(sf_sandbox, events=["created"], contact_match=True)
    account = sf_sandbox.api("POST", "/sobjects/Account", {"Name": "Globex"})
    sf_sandbox.api("POST", "/sobjects/Contact", {"LastName": "Scorpio", "Email": "hank@globex.example",
                                                 "AccountId": account["id"]})
    deal = _register(_reseller())
    run_jobs()
    [link] = _links(deal)
    sf_sandbox.api("PATCH", f"/sobjects/Opportunity/{link.crm_id}", {"StageName": "Closed Lost"})
    assert tasks.crm_pull_all() >= 1
    run_jobs()
    _db.session.expire_all()
    deal = _db.session.get(DealRegistration, deal.id)
    assert deal.status == "rejected" and "Closed Lost" in deal.rejection_reason
    assert _db.session.get(CrmConnection, connection.id).last_pull_at is not None


def test_a_registration_already_rejected_ignores_its_opportunity_closing_lost_again(db, sf_sandbox):
    connection = _connection(sf_sandbox, contact_match=True)
    account = sf_sandbox.api("POST", "/sobjects/Account", {"Name": "Globex"})
    sf_sandbox.api("POST", "/sobjects/Contact", {"LastName": "Scorpio", "Email": "hank@globex.example",
                                                 "AccountId": account["id"]})
    deal = _register(_reseller())
    opportunity = _push(connection, deal).crm_id
    deals.reject(deal, by=internal_user("manager"), reason="Not a fit")
    sf_sandbox.api("PATCH", f"/sobjects/Opportunity/{opportunity}", {"StageName": "Closed Lost"})
    stats = engine.pull(connection.id)
    assert stats.errors == 0 and _links(deal)[0].last_error is None
    assert _db.session.get(DealRegistration, deal.id).rejection_reason == "Not a fit"


def test_test_connection_names_the_deal_registrations_field_when_the_org_lacks_it(db, sf_sandbox):
    connection = _connection(sf_sandbox)
    sf_sandbox.admin("org", {"missing": ["Opportunity.Portal_Deal_Id__c"]})
    result = crm.test_connection(connection)
    assert result.ok and "Opportunity.Portal_Deal_Id__c" in result.message
    assert "Object Manager → Opportunity" in result.message
