"""What comes back from Salesforce, over real HTTP against the sandbox: deletions (getDeleted), a
converted Lead's Account and Contact, Referral Factory's four qualification options (each in its own
test), and the "create a new Contact" option (a referral as a Contact)."""
from __future__ import annotations

from decimal import Decimal

from portal.extensions import db as _db
from portal.models import Referral, StatusEvent, SyncLog
from portal.services import crm
from portal.sync import engine
from tests.crm_fixtures import make_salesforce_connection
from tests.factories import CommissionPlanFactory, OrganizationFactory, ReferralFactory, partner_user


def _referral(email: str, **kwargs) -> Referral:
    partner = partner_user(organization=OrganizationFactory(tier="gold"))
    CommissionPlanFactory(tier="gold", percent=Decimal("10"))
    return ReferralFactory(partner_org=partner.organization, submitted_by=partner, contact_email=email, **kwargs)


def _push(connection, referral):
    crm.sync_now(referral)
    engine.push(connection.id)
    _db.session.expire_all()
    return crm.links_for(referral)[0]


def _pull(connection) -> engine.PullStats:
    stats = engine.pull(connection.id)
    _db.session.expire_all()
    return stats


def _status(referral) -> str:
    return _db.session.get(Referral, referral.id).status


def test_a_lead_deleted_in_salesforce_unlinks_the_referral_and_says_so(db, sf_sandbox, sf_connection):
    referral = _referral("ada@lovelace.example")
    kept = _referral("bob@builder.example")
    lead_id = _push(sf_connection, referral).crm_id
    kept_lead = _push(sf_connection, kept).crm_id
    _pull(sf_connection)
    sf_sandbox.api("DELETE", f"/sobjects/Lead/{lead_id}")

    _pull(sf_connection)

    [link] = crm.links_for(referral)
    assert link.state == "unlinked" and link.crm_id is None and not link.dirty
    assert f"Lead {lead_id} was deleted in Salesforce" in link.last_error
    [log] = _db.session.scalars(_db.select(SyncLog).where(SyncLog.action == "delete"))
    assert log.entity_id == referral.id and log.direction == "pull" and referral.number in log.message
    assert crm.links_for(kept)[0].crm_id == kept_lead and crm.links_for(kept)[0].state == "synced"
    # Later syncs leave it alone; a person's "Sync now" makes a new Lead.
    engine.full_sync(sf_connection.id)
    _db.session.expire_all()
    assert crm.links_for(referral)[0].state == "unlinked"
    link = _push(sf_connection, referral)
    assert link.state == "synced" and link.crm_id not in (None, lead_id) and link.last_error is None
    assert sf_sandbox.query(f"SELECT Portal_Referral_Id__c FROM Lead WHERE Id = '{link.crm_id}'") == [
        {"attributes": {"type": "Lead", "url": f"/services/data/v62.0/sobjects/Lead/{link.crm_id}"},
         "Portal_Referral_Id__c": str(referral.id)}]


def test_a_converted_lead_keeps_its_account_and_contact_on_the_link(db, sf_sandbox, sf_connection):
    referral = _referral("ada@lovelace.example")
    lead_id = _push(sf_connection, referral).crm_id
    converted = sf_sandbox.convert(lead_id)

    _pull(sf_connection)

    [link] = crm.links_for(referral)
    assert link.crm_id == converted["ConvertedOpportunityId"]
    assert (link.contact_crm_id, link.company_crm_id) == (converted["ConvertedContactId"],
                                                          converted["ConvertedAccountId"])


def test_qualification_option_1_a_lead_field_changes_to_one_of_the_values(db, sf_sandbox, sf_connection):
    crm.add_rule(sf_connection, trigger="property", crm_property="Status", values=["Closed - Not Converted"],
                 target_status="lost")
    referral = _referral("ada@lovelace.example")
    lead_id = _push(sf_connection, referral).crm_id
    sf_sandbox.api("PATCH", f"/sobjects/Lead/{lead_id}", {"Status": "Working - Contacted"})
    _pull(sf_connection)
    assert _status(referral) == "submitted"          # not one of the values

    sf_sandbox.api("PATCH", f"/sobjects/Lead/{lead_id}", {"Status": "Closed - Not Converted"})
    stats = _pull(sf_connection)

    assert stats.status_changes == 1 and _status(referral) == "lost"


def test_qualification_option_2_a_contact_field_changes_from_its_initial_value(db, sf_sandbox, sf_connection):
    crm.add_rule(sf_connection, trigger="contact", crm_property="Title", values=["Chief Executive Officer"],
                 target_status="lost")
    referral = _referral("ada@lovelace.example", contact_title="Engineer")
    already = _referral("bob@builder.example", contact_title="Chief Executive Officer")
    converted = sf_sandbox.convert(_push(sf_connection, referral).crm_id)
    sf_sandbox.convert(_push(sf_connection, already).crm_id)
    _pull(sf_connection)
    # Its initial value is not a change: the Contact that starts as CEO moves nothing.
    assert (_status(referral), _status(already)) == ("accepted", "accepted")   # the Opportunity's Prospecting
    assert crm.links_for(referral)[0].contact_crm_id == converted["ConvertedContactId"]

    sf_sandbox.api("PATCH", f"/sobjects/Contact/{converted['ConvertedContactId']}",
                   {"Title": "Chief Executive Officer"})
    stats = _pull(sf_connection)

    assert stats.status_changes == 1
    assert (_status(referral), _status(already)) == ("lost", "accepted")
    event = _db.session.scalars(_db.select(StatusEvent).where(
        StatusEvent.entity_type == "referral", StatusEvent.entity_id == referral.id).order_by(StatusEvent.id)).all()[-1]
    assert event.to_status == "lost" and event.actor_label == "Salesforce"
    assert "contact's Title changed to 'Chief Executive Officer'" in (event.reason or "")
    # Read again, the same value moves nothing.
    assert _pull(sf_connection).status_changes == 0


def test_qualification_option_3_the_lead_converts_into_an_opportunity(db, sf_sandbox, sf_connection):
    crm.add_rule(sf_connection, trigger="property", crm_property="IsConverted", values=["true"],
                 target_status="accepted")
    crm.save_mappings(sf_connection, [m for m in crm.mappings_of(sf_connection) if m.crm_field != "StageName"])
    referral = _referral("ada@lovelace.example")
    lead_id = _push(sf_connection, referral).crm_id
    _pull(sf_connection)
    assert _status(referral) == "submitted"

    opportunity_id = sf_sandbox.convert(lead_id, opportunity_name="Ada deal")["ConvertedOpportunityId"]
    stats = _pull(sf_connection)

    assert stats.status_changes == 1 and _status(referral) == "accepted"   # the rule, not a stage map
    assert crm.links_for(referral)[0].crm_id == opportunity_id


def test_qualification_option_4_it_converts_and_the_opportunity_reaches_a_stage(db, sf_sandbox, sf_connection):
    crm.add_rule(sf_connection, trigger="stage", values=["Negotiation/Review"], target_status="won_payment_pending")
    referral = _referral("ada@lovelace.example")
    opportunity_id = sf_sandbox.convert(_push(sf_connection, referral).crm_id)["ConvertedOpportunityId"]
    sf_sandbox.api("PATCH", f"/sobjects/Opportunity/{opportunity_id}", {"Name": "Ada deal (renamed)"})
    _pull(sf_connection)
    assert _status(referral) == "accepted"          # Prospecting, through the stage map

    sf_sandbox.api("PATCH", f"/sobjects/Opportunity/{opportunity_id}", {"StageName": "Negotiation/Review",
                                                                        "Amount": 5000})
    stats = _pull(sf_connection)

    referral = _db.session.get(Referral, referral.id)
    assert stats.status_changes == 1
    assert referral.status == "won_payment_pending" and referral.won_amount == Decimal("5000.00")


def test_create_a_new_contact_option_makes_the_referral_a_contact(db, sf_sandbox):
    connection = make_salesforce_connection(sf_sandbox.base, options={"referral_record": "Contact"})
    crm.add_rule(connection, trigger="contact", crm_property="Title", values=["Buyer"], target_status="lost")
    referral = _referral("ada@lovelace.example", contact_last_name="Lovelace", company_name="Analytical Engines")
    existing = sf_sandbox.api("POST", "/sobjects/Contact", {"LastName": "Known", "Email": "known@acme.example"})
    matched = _referral("known@acme.example", contact_phone="+1 555 0100")

    link = _push(connection, referral)
    matched_link = _push(connection, matched)

    assert link.crm_id.startswith("003") and f"/lightning/r/Contact/{link.crm_id}/view" in link.url
    [contact] = sf_sandbox.query("SELECT LastName, Email, Portal_Referral_Id__c, Sync_with_Portal__c FROM Contact "
                                 f"WHERE Id = '{link.crm_id}'")
    assert (contact["LastName"], contact["Portal_Referral_Id__c"], contact["Sync_with_Portal__c"]) == (
        "Lovelace", str(referral.id), True)
    assert sf_sandbox.query("SELECT Id FROM Lead") == []
    # The duplicate policy (fill empty) on an existing Contact: linked, its empty phone filled.
    assert matched_link.crm_id == existing["id"]
    [known] = sf_sandbox.query(f"SELECT LastName, Phone, Portal_Referral_Id__c FROM Contact WHERE Id = '{existing['id']}'")
    assert (known["LastName"], known["Phone"], known["Portal_Referral_Id__c"]) == ("Known", "+1 555 0100",
                                                                                   str(matched.id))
    # A change goes to the same Contact; a Contact's change comes back (option 2 on the record itself).
    referral.contact_phone = "+1 555 0111"
    _db.session.commit()
    assert _push(connection, referral).crm_id == link.crm_id
    assert sf_sandbox.query(f"SELECT Phone FROM Contact WHERE Id = '{link.crm_id}'")[0]["Phone"] == "+1 555 0111"
    _pull(connection)
    sf_sandbox.api("PATCH", f"/sobjects/Contact/{link.crm_id}", {"Title": "Buyer"})
    _pull(connection)
    assert _status(referral) == "lost"


def test_the_minute_pull_reuses_the_orgs_describe_until_it_is_a_quarter_of_an_hour_old(db, sf_sandbox, sf_connection,
                                                                                       clock):
    _push(sf_connection, _referral("dana@globex.example", company_name="Globex"))

    def describes() -> int:
        calls = sf_sandbox.admin("stats", method="GET")["endpoints"]
        return sum(count for endpoint, count in calls.items() if endpoint.endswith("/describe"))

    sf_sandbox.admin("stats", method="DELETE")
    for _ in range(3):
        _pull(sf_connection)
    assert describes() == 0  # the push described the org a moment ago

    clock.advance(16 * 60)
    _pull(sf_connection)
    _pull(sf_connection)
    after_a_while = describes()
    assert after_a_while > 0
    _pull(sf_connection)
    assert describes() == after_a_while

    # Test connection says what the org has now, never what was remembered.
    sf_sandbox.admin("stats", method="DELETE")
    assert crm.test_connection(sf_connection).ok
    assert describes() > 0
