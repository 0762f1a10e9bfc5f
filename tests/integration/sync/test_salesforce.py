"""The Salesforce connector over real HTTP against the sandbox: connection (both OAuth flows, an
expired session refreshed once), referrals as Leads upserted by portal id, the duplicate policy, and
the pull that follows a converted Lead into its Opportunity and marks the referral won."""
from __future__ import annotations

from decimal import Decimal

from portal.extensions import db as _db
from portal.models import Commission, CrmConnection, Referral
from portal.services import crm
from portal.sync import engine
from tests.crm_fixtures import SALESFORCE_REFRESH_TOKEN, make_salesforce_connection
from tests.factories import CommissionPlanFactory, OrganizationFactory, ReferralFactory, partner_user
from tests.integration.conftest import body


def _referral(partner_email: str = "paula@northwind.example", **kwargs):
    partner = partner_user(organization=OrganizationFactory(tier="gold"), email=partner_email)
    CommissionPlanFactory(tier="gold", percent=Decimal("10"))
    return ReferralFactory(partner_org=partner.organization, submitted_by=partner, **kwargs)


def _push(connection, referral):
    crm.sync_now(referral)
    engine.push(connection.id)
    _db.session.expire_all()
    return crm.links_for(referral)[0]


def test_credentials_are_encrypted_and_test_connection_reports_org_version_and_limit(db, sf_sandbox, sf_connection):
    stored = _db.session.get(CrmConnection, sf_connection.id)
    assert SALESFORCE_REFRESH_TOKEN not in (stored.token_encrypted or "")
    result = crm.test_connection(sf_connection)
    assert result.ok, result.message
    assert "API v62.0" in result.message and "Daily API requests left:" in result.message
    assert "Missing fields" not in result.message
    account = _db.session.get(CrmConnection, sf_connection.id).account
    assert account["daily_requests_max"] == 15000 and account["daily_requests_remaining"] < 15000


def test_test_connection_lists_missing_fields_and_how_to_add_them(db, sf_sandbox, sf_connection):
    sf_sandbox.admin("org", {"missing": ["Lead.Portal_Referral_Id__c"]})
    result = crm.test_connection(sf_connection)
    assert result.ok
    assert "Lead.Portal_Referral_Id__c" in result.message and "Object Manager → Lead" in result.message


def test_jwt_bearer_flow_connects(db, sf_sandbox):
    connection = make_salesforce_connection(sf_sandbox.base, flow="jwt")
    assert crm.test_connection(connection).ok


def test_bad_refresh_token_is_said_plainly(db, sf_sandbox):
    from portal.sync.connectors.salesforce import client
    connection = crm.create_connection(name="SF", provider="salesforce", base_url=sf_sandbox.base,
                                       token=client.credentials_text(client_id="sync-test-consumer-key",
                                                                     client_secret="sync-test-consumer-secret",
                                                                     refresh_token="wrong"))
    result = crm.test_connection(connection)
    assert not result.ok and "refused the credentials" in result.message


def test_referral_becomes_a_lead_upserted_on_portal_id(db, sf_sandbox, sf_connection):
    referral = _referral(contact_email="ada@lovelace.example", contact_last_name="Lovelace",
                         company_name="Analytical Engines")
    link = _push(sf_connection, referral)
    assert link.state == "synced" and link.crm_id.startswith("00Q")
    [lead] = sf_sandbox.query("SELECT Id, LastName, Company, Email, Portal_Referral_Id__c, Sync_with_Portal__c "
                              f"FROM Lead WHERE Id = '{link.crm_id}'")
    assert lead["Portal_Referral_Id__c"] == str(referral.id) and lead["Sync_with_Portal__c"] is True
    assert (lead["LastName"], lead["Company"]) == ("Lovelace", "Analytical Engines")
    assert link.url.endswith(f"/lightning/r/Lead/{link.crm_id}/view")
    # A change goes as an update of the same Lead; nothing is duplicated.
    referral.company_name = "Analytical Engines Ltd"
    _db.session.commit()
    link = _push(sf_connection, referral)
    leads = sf_sandbox.query("SELECT Id, Company FROM Lead")
    assert [(l["Id"], l["Company"]) for l in leads] == [(link.crm_id, "Analytical Engines Ltd")]


def test_an_expired_session_is_refreshed_once_and_the_call_retried(db, sf_sandbox, sf_connection):
    referral = _referral(contact_email="grace@hopper.example")
    link = _push(sf_connection, referral)
    sf_sandbox.admin("sessions/expire")
    referral.company_name = "Cobol Inc"
    _db.session.commit()
    from portal.sync.connectors import for_connection
    connector = for_connection(_db.session.get(CrmConnection, sf_connection.id))
    connector.api.client()  # a session from before the expiry
    sf_sandbox.admin("sessions/expire")
    assert list(connector.api.query(f"SELECT Id FROM Lead WHERE Id = '{link.crm_id}'"))[0]["Id"] == link.crm_id
    link = _push(sf_connection, referral)
    assert link.state == "synced"
    sf_sandbox.login()
    assert sf_sandbox.query(f"SELECT Company FROM Lead WHERE Id = '{link.crm_id}'")[0]["Company"] == "Cobol Inc"


def test_duplicate_policy_lead_match_fill_empty_links_the_existing_lead(db, sf_sandbox, sf_connection):
    existing = sf_sandbox.api("POST", "/sobjects/Lead", {"LastName": "Known", "Company": "Known Co",
                                                         "Email": "known@acme.example"})
    referral = _referral(contact_email="Known@acme.example", contact_phone="+1 555 0100")
    link = _push(sf_connection, referral)
    assert link.crm_id == existing["id"]
    [lead] = sf_sandbox.query("SELECT Id, LastName, Phone, Portal_Referral_Id__c FROM Lead")
    assert lead["LastName"] == "Known" and lead["Phone"] == "+1 555 0100"   # filled, not overwritten
    assert lead["Portal_Referral_Id__c"] == str(referral.id)


def test_duplicate_policy_leave_links_without_writing_the_mapped_fields(db, sf_sandbox):
    connection = make_salesforce_connection(sf_sandbox.base, existing_policy="leave")
    existing = sf_sandbox.api("POST", "/sobjects/Lead", {"LastName": "Known", "Company": "Known Co",
                                                         "Email": "known@acme.example"})
    referral = _referral(contact_email="known@acme.example", contact_phone="+1 555 0100")
    link = _push(connection, referral)
    assert link.crm_id == existing["id"] and link.state == "synced"
    [lead] = sf_sandbox.query("SELECT Phone, Portal_Referral_Id__c FROM Lead")
    # Only the portal's own fields (so the pull sees the Lead's changes), none of the mapped ones.
    assert lead["Phone"] is None and lead["Portal_Referral_Id__c"] == str(referral.id)


def test_contact_match_links_its_one_open_opportunity_else_creates_the_lead(db, sf_sandbox, sf_connection):
    contact = sf_sandbox.api("POST", "/sobjects/Contact", {"LastName": "Buyer", "Email": "buyer@acme.example"})
    opportunity = sf_sandbox.api("POST", "/sobjects/Opportunity", {"Name": "Acme renewal", "StageName": "Prospecting",
                                                                   "CloseDate": "2027-01-31"})
    sf_sandbox.api("POST", "/sobjects/OpportunityContactRole", {"OpportunityId": opportunity["id"],
                                                                "ContactId": contact["id"]})
    link = _push(sf_connection, _referral(contact_email="buyer@acme.example"))
    assert link.crm_id == opportunity["id"]
    assert sf_sandbox.query("SELECT Id FROM Lead") == []
    # A contact with no open opportunity: a new Lead (saved past the duplicate rule).
    sf_sandbox.api("POST", "/sobjects/Contact", {"LastName": "Other", "Email": "other@acme.example"})
    link = _push(sf_connection, _referral("pat@northwind.example", contact_email="other@acme.example"))
    assert link.crm_id.startswith("00Q") and link.state == "synced"
    # A contact with two open opportunities: which one is not ours to guess, so a new Lead too.
    two = sf_sandbox.api("POST", "/sobjects/Contact", {"LastName": "Two", "Email": "two@acme.example"})
    for name in ("First deal", "Second deal"):
        deal = sf_sandbox.api("POST", "/sobjects/Opportunity", {"Name": name, "StageName": "Prospecting",
                                                                "CloseDate": "2027-01-31"})
        sf_sandbox.api("POST", "/sobjects/OpportunityContactRole", {"OpportunityId": deal["id"], "ContactId": two["id"]})
    link = _push(sf_connection, _referral("sam@northwind.example", contact_email="two@acme.example"))
    assert link.crm_id.startswith("00Q") and link.state == "synced" and link.contact_crm_id is None


def test_converted_lead_moves_the_link_and_closed_won_marks_the_referral_won(
        db, sf_sandbox, sf_connection, smtp_server, run_jobs):
    referral = _referral(contact_email="ada@lovelace.example")
    lead_id = _push(sf_connection, referral).crm_id
    engine.pull(sf_connection.id)
    converted = sf_sandbox.convert(lead_id)
    opportunity_id = converted["ConvertedOpportunityId"]
    engine.pull(sf_connection.id)
    _db.session.expire_all()
    [link] = crm.links_for(referral)
    assert link.crm_id == opportunity_id
    assert referral.status == "accepted"   # Prospecting
    sf_sandbox.api("PATCH", f"/sobjects/Opportunity/{opportunity_id}", {"StageName": "Closed Won", "Amount": 20000})
    stats = engine.pull(sf_connection.id)
    _db.session.expire_all()
    assert stats.status_changes == 1
    referral = _db.session.get(Referral, referral.id)
    assert referral.status == "won_payment_pending" and referral.won_amount == Decimal("20000.00")
    commission = _db.session.scalar(_db.select(Commission).where(Commission.referral_id == referral.id))
    assert commission.amount == Decimal("2000.00")
    run_jobs()
    [mail] = [m for m in smtp_server.to("paula@northwind.example") if "won" in m["Subject"]]
    assert "2,000.00" in body(mail)
    # Nothing goes back to the Opportunity (a Lead's fields are not an Opportunity's).
    referral.notes = "changed after conversion"
    _db.session.commit()
    assert _push(sf_connection, referral).crm_id == opportunity_id


def test_salesforce_has_no_webhook_endpoint(client, db, sf_sandbox):
    make_salesforce_connection(sf_sandbox.base)
    response = client.post("/webhooks/salesforce", data=b"{}", content_type="application/json")
    assert response.status_code == 404
