"""The integrations pages of a Salesforce connection: Salesforce's words (never "HubSpot"), the
"create a new Contact" option, Contact rules (Referral Factory's option 2), mappings checked against
the live describe, and the referrer's fields ("attach information about the person referring")."""
from __future__ import annotations

from portal.extensions import db as _db
from portal.models import CrmConnection
from portal.services import crm
from portal.sync import engine
from tests.crm_fixtures import make_salesforce_connection
from tests.factories import ReferralFactory, ReferralLinkFactory, internal_user, partner_user
from tests.integration.test_integrations_pages import _current_rows, _mappings_post


def _connection(sf_sandbox) -> CrmConnection:
    return make_salesforce_connection(sf_sandbox.base, sync_trigger="manual")


def test_a_salesforce_connections_pages_say_salesforce_not_hubspot(client, db, sf_sandbox):
    connection = _connection(sf_sandbox)
    client.login(internal_user("admin"))
    base = f"/internal/integrations/{connection.id}"
    for path in ("", "/mappings"):
        html = client.get(base + path).get_data(as_text=True).replace('<option value="hubspot">HubSpot</option>', "")
        assert "HubSpot" not in html, path
    page = client.get(base).get_data(as_text=True)
    assert "A customer that already exists in Salesforce" in page and "pulls what Salesforce changed" in page
    mappings = client.get(f"{base}/mappings").get_data(as_text=True)
    assert "Salesforce field" in mappings and "Required: Lead LastName and Company" in mappings
    assert "a Lead field changes to one of" in mappings and "a Contact field changes from its first value" in mappings
    assert "What a change in Salesforce does" in mappings
    assert "Salesforce" in client.get("/internal/integrations/").get_data(as_text=True)


def test_the_create_a_new_contact_option_is_saved_with_the_connection(client, db, sf_sandbox):
    connection = _connection(sf_sandbox)
    client.login(internal_user("admin"))
    url = f"/internal/integrations/{connection.id}"
    assert "create a new Contact" in client.get(url).get_data(as_text=True)
    form = {"name": connection.name, "provider": "salesforce", "base_url": connection.base_url,
            "sync_trigger": "manual", "existing_policy": "fill_empty", "active": "y"}
    response = client.submit(url, {**form, "referral_record": "Contact"})
    assert response.status_code == 303, response.get_data(as_text=True)[:1500]
    _db.session.expire_all()
    assert _db.session.get(CrmConnection, connection.id).options["referral_record"] == "Contact"
    assert crm.terms(connection).record == "Contact"
    response = client.submit(url, {**form, "referral_record": "Account"})
    assert response.status_code == 422
    assert _db.session.get(CrmConnection, connection.id).options["referral_record"] == "Contact"


def test_a_contact_rule_is_added_from_the_rules_form(client, db, sf_sandbox):
    connection = _connection(sf_sandbox)
    client.login(internal_user("admin"))
    base = f"/internal/integrations/{connection.id}"
    assert 'value="Title"' in client.get(f"{base}/mappings").get_data(as_text=True)
    response = client.submit(f"{base}/rules", {"rule-trigger": "contact", "rule-contact_property": "",
                                               "rule-values": "CEO", "rule-target_status": "lost"})
    assert response.status_code == 422 and "Name the contact&#39;s property." in response.get_data(as_text=True)
    response = client.submit(f"{base}/rules", {"rule-trigger": "contact", "rule-contact_property": "Title",
                                               "rule-values": "CEO, CFO", "rule-target_status": "lost"})
    assert response.status_code == 303
    [rule] = crm.rules_of(connection)
    assert (rule.trigger, rule.crm_property, rule.values) == ("contact", "Title", ["CEO", "CFO"])
    assert "The Contact's field <code>Title</code>" in client.get(f"{base}/mappings").get_data(as_text=True)


def test_mappings_are_checked_against_the_live_describe_before_they_are_saved(client, db, sf_sandbox):
    connection = _connection(sf_sandbox)
    client.login(internal_user("admin"))
    url = f"/internal/integrations/{connection.id}/mappings"
    rows = _current_rows(connection)
    lead_source = next(i for i, r in enumerate(rows) if r[0] == "deal.LeadSource")

    bad_picklist = list(rows)
    bad_picklist[lead_source] = ("deal.LeadSource", None, "push", "Trade Show")
    response = client.submit(url, _mappings_post(connection, bad_picklist))
    assert response.status_code == 422 and "LeadSource has no picklist value &#39;Trade Show&#39;" in \
        response.get_data(as_text=True)

    too_long = list(rows)
    too_long[lead_source] = ("deal.Title", None, "push", "x" * 129)
    response = client.submit(url, _mappings_post(connection, too_long))
    assert response.status_code == 422 and "Title holds at most 128 characters" in response.get_data(as_text=True)

    no_company = [r for r in rows if r[0] != "deal.Company"]
    response = client.submit(url, _mappings_post(connection, no_company))
    assert response.status_code == 422 and "needs a mapping for &#39;Company&#39;" in response.get_data(as_text=True)
    assert _current_rows(connection) == rows     # nothing half-saved


def test_the_referrers_fields_go_with_the_lead_and_a_field_the_org_lacks_is_named(db, sf_sandbox):
    connection = _connection(sf_sandbox)
    partner = partner_user(name="Paula Partner", email="paula@northwind.example")
    link = ReferralLinkFactory(partner_org=partner.organization, user=partner, campaign="Spring webinar")
    referral = ReferralFactory(partner_org=partner.organization, submitted_by=None, link=link)
    crm.sync_now(referral)
    engine.push(connection.id)
    _db.session.expire_all()
    [lead] = sf_sandbox.query("SELECT Referrer_Name__c, Referrer_Email__c, Referral_Link__c, Referral_Campaign__c "
                              "FROM Lead")
    assert (lead["Referrer_Name__c"], lead["Referrer_Email__c"], lead["Referral_Campaign__c"]) == (
        "Paula Partner", "paula@northwind.example", "Spring webinar")
    assert lead["Referral_Link__c"].endswith(f"/r/{link.code}")

    # An org without one of them: the push leaves it out (nothing fails) and Test connection names it.
    sf_sandbox.admin("org", {"missing": ["Lead.Referral_Campaign__c"]})
    other = ReferralFactory(partner_org=partner.organization, submitted_by=partner)
    crm.sync_now(other)
    engine.push(connection.id)
    _db.session.expire_all()
    assert crm.links_for(other)[0].state == "synced"
    result = crm.test_connection(connection)
    assert result.ok and "left out of every push: Lead.Referral_Campaign__c" in result.message
