"""The duplicate policy on Salesforce (Referral Factory's step 8), over real HTTP against the sandbox:
three referrals — one new, one whose email is an existing Lead, one an existing Contact with one open
Opportunity — under each policy give exactly the Leads, updates and links the policy says, and a
second full sync changes nothing (no call that writes, no record changed)."""
from __future__ import annotations

import pytest

from portal.extensions import db as _db
from portal.models import CrmLink, Referral, SyncLog
from portal.services import crm
from portal.sync import engine
from tests.crm_fixtures import make_salesforce_connection
from tests.factories import OrganizationFactory, ReferralFactory, partner_user

LEAD_FIELDS = "Id, LastName, FirstName, Company, Email, Phone, Title, Portal_Referral_Id__c, Sync_with_Portal__c"
CONTACT_FIELDS = "Id, LastName, Email, Phone, Title, Sync_with_Portal__c"
WRITES = ("PATCH", "DELETE", "PUT", "POST /services/data/v62.0/sobjects")


def _scene(sf_sandbox):
    """A Lead and a Contact (with one open Opportunity) that already hold two referrals' emails."""
    lead = sf_sandbox.api("POST", "/sobjects/Lead", {"LastName": "Known", "Company": "Known Co",
                                                     "Email": "lead@acme.example", "Title": "CTO"})
    contact = sf_sandbox.api("POST", "/sobjects/Contact", {"LastName": "Buyer", "Email": "buyer@acme.example",
                                                           "Phone": "+1 555 0199"})
    opportunity = sf_sandbox.api("POST", "/sobjects/Opportunity", {"Name": "Acme renewal", "StageName": "Prospecting",
                                                                   "CloseDate": "2027-01-31"})
    sf_sandbox.api("POST", "/sobjects/OpportunityContactRole", {"OpportunityId": opportunity["id"],
                                                                "ContactId": contact["id"]})
    partner = partner_user(organization=OrganizationFactory(tier="gold"))
    made = {
        "new": dict(contact_email="new@fresh.example", contact_last_name="Fresh", company_name="Fresh Co"),
        "lead": dict(contact_email="lead@acme.example", contact_last_name="Lovelace", contact_phone="+1 555 0100",
                     contact_title="VP Engineering", company_name="Analytical Engines"),
        "contact": dict(contact_email="buyer@acme.example", contact_last_name="Babbage",
                        contact_phone="+1 555 0200", contact_title="Engineer", company_name="Difference Ltd"),
    }
    referrals = {key: ReferralFactory(partner_org=partner.organization, submitted_by=partner, contact_first_name=None,
                                      notes=None, company_country=None, **values) for key, values in made.items()}
    return lead["id"], contact["id"], opportunity["id"], referrals


def _state(sf_sandbox) -> dict:
    return {"leads": sf_sandbox.query(f"SELECT {LEAD_FIELDS}, SystemModstamp FROM Lead ORDER BY Id"),
            "contacts": sf_sandbox.query(f"SELECT {CONTACT_FIELDS}, SystemModstamp FROM Contact ORDER BY Id"),
            "opportunities": sf_sandbox.query("SELECT Id, Name, StageName, Portal_Referral_Id__c, SystemModstamp "
                                              "FROM Opportunity ORDER BY Id")}


def _portal_state() -> list:
    links = [(l.entity_id, l.crm_id, l.contact_crm_id, l.state, l.dirty, l.last_error, l.pushed_values)
             for l in _db.session.scalars(_db.select(CrmLink).order_by(CrmLink.id))]
    referrals = [(r.id, r.status, r.contact_last_name, r.contact_phone)
                 for r in _db.session.scalars(_db.select(Referral).order_by(Referral.id))]
    return [links, referrals]


@pytest.mark.parametrize("policy", ["update", "fill_empty", "leave"])
def test_three_referrals_under_each_duplicate_policy_then_a_second_full_sync_changes_nothing(
        db, sf_sandbox, policy):
    connection = make_salesforce_connection(sf_sandbox.base, existing_policy=policy, sync_trigger="manual")
    lead_id, contact_id, opportunity_id, referrals = _scene(sf_sandbox)

    engine.full_sync(connection.id)
    _db.session.expire_all()

    links = {key: crm.links_for(r)[0] for key, r in referrals.items()}
    assert all(l.state == "synced" and l.last_error is None for l in links.values())
    leads = {l["Id"]: l for l in sf_sandbox.query(f"SELECT {LEAD_FIELDS} FROM Lead")}
    # Exactly one new Lead, for the new referral; the Lead match is the existing Lead; the Contact
    # match is its one open Opportunity (the Contact's email makes no Lead).
    assert set(leads) == {lead_id, links["new"].crm_id} and links["new"].crm_id != lead_id
    assert links["lead"].crm_id == lead_id
    assert links["contact"].crm_id == opportunity_id and links["contact"].contact_crm_id == contact_id
    new = leads[links["new"].crm_id]
    assert (new["LastName"], new["Company"], new["Email"]) == ("Fresh", "Fresh Co", "new@fresh.example")

    lead = leads[lead_id]
    [contact] = sf_sandbox.query(f"SELECT {CONTACT_FIELDS} FROM Contact")
    expected_lead, expected_contact = {
        "update": ({"LastName": "Lovelace", "Company": "Analytical Engines", "Phone": "+1 555 0100",
                    "Title": "VP Engineering"},
                   {"LastName": "Babbage", "Phone": "+1 555 0200", "Title": "Engineer"}),
        "fill_empty": ({"LastName": "Known", "Company": "Known Co", "Phone": "+1 555 0100", "Title": "CTO"},
                       {"LastName": "Buyer", "Phone": "+1 555 0199", "Title": "Engineer"}),
        "leave": ({"LastName": "Known", "Company": "Known Co", "Phone": None, "Title": "CTO"},
                  {"LastName": "Buyer", "Phone": "+1 555 0199", "Title": None}),
    }[policy]
    assert {k: lead[k] for k in expected_lead} == expected_lead
    assert {k: contact[k] for k in expected_contact} == expected_contact
    # Whatever the policy, a linked record carries the portal's own fields, so the pull sees it.
    assert (lead["Portal_Referral_Id__c"], lead["Sync_with_Portal__c"]) == (str(referrals["lead"].id), True)
    [opportunity] = sf_sandbox.query("SELECT Portal_Referral_Id__c, Sync_with_Portal__c FROM Opportunity")
    assert opportunity == {**opportunity, "Portal_Referral_Id__c": str(referrals["contact"].id),
                           "Sync_with_Portal__c": True}
    actions = {r.entity_id: r.action for r in _db.session.scalars(
        _db.select(SyncLog).where(SyncLog.direction == "push", SyncLog.entity_id.is_not(None)))}
    assert actions[referrals["new"].id] == "create lead"
    assert actions[referrals["lead"].id] == ("link lead" if policy == "leave" else "update lead")
    assert actions[referrals["contact"].id] == "link opportunity"

    # The minute pull after it reads what the first sync wrote (the Opportunity's stage is the
    # contact referral's status now); from then on nothing is left to do.
    engine.pull(connection.id)
    _db.session.expire_all()
    assert _db.session.get(Referral, referrals["contact"].id).status == "accepted"   # Prospecting
    before, portal_before = _state(sf_sandbox), _portal_state()
    logs_before = _db.session.scalar(_db.select(_db.func.count(SyncLog.id)))
    sf_sandbox.admin("stats", method="DELETE")

    stats = engine.full_sync(connection.id)
    _db.session.expire_all()

    # The pull reads (one Composite call of queries per kind of record: referrals, deal registrations);
    # the push has nothing to send: at most a describe.
    calls = sf_sandbox.admin("stats", method="GET")["endpoints"]
    assert not [c for c in calls if c.startswith(WRITES)], calls
    assert calls["POST /services/data/v62.0/composite"] == 2 and "GET /services/data/v62.0/query" not in calls, calls
    assert (stats.pushed, stats.errors) == (0, 0)
    assert _state(sf_sandbox) == before
    assert _portal_state() == portal_before
    assert _db.session.scalar(_db.select(_db.func.count(SyncLog.id))) == logs_before
