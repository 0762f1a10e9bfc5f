"""Lead conversion, as Salesforce's convertLead does it (FACTS §2.8).

Salesforce's REST API has no conversion call (it happens in the UI, Apex or SOAP), so the sandbox
converts from its record page and its admin API; the connector only sees the result: the lead's
`IsConverted` and `Converted*Id` fields and the new Account, Contact and Opportunity.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from crm_sandbox import clock
from crm_sandbox.salesforce import fields, records
from crm_sandbox.salesforce.errors import SalesforceError

PORTAL_IDS = ("Portal_Referral_Id__c", "Portal_Deal_Id__c")


def convert_lead(session: Session, lead_id: str, *, create_opportunity: bool = True,
                 opportunity_name: str | None = None, account_id: str | None = None,
                 contact_id: str | None = None) -> records.Record:
    """Convert a lead as Salesforce's convertLead does: create (or reuse) the Account and the
    Contact, optionally create an Opportunity, then mark the lead converted (FACTS §2.8).
    Raises SalesforceError if already converted or if a given account/contact does not exist."""
    lead = records.get(session, "Lead", lead_id)
    if lead.fields.get("IsConverted"):
        raise SalesforceError(400, "INVALID_STATUS", "This lead was already converted.")
    values = lead.fields

    # Same-named custom fields are mapped onto the new records, as an admin would set up lead
    # field mapping for the portal's fields; unique ones go to one record only (below).
    def mapped(sobject_name):
        target = records.describe(sobject_name)
        return {k: v for k, v in values.items() if k.endswith("__c") and target.field(k)
                and not target.field(k).unique and v is not None}
    if account_id:
        account = records.get(session, "Account", account_id)
    else:
        account = records.create(session, "Account", dict(mapped("Account"),
                                                          Name=values.get("Company") or values["LastName"]))
    # The portal's ids (a referral's, a deal registration's) follow the lead to its opportunity, or
    # to the contact without one: lead field mapping an admin sets up for them.
    portal_ids = {name: values[name] for name in PORTAL_IDS if values.get(name)}

    def moved(sobject_name):
        target = records.describe(sobject_name)
        return {name: value for name, value in portal_ids.items() if target.field(name) is not None}
    if contact_id:
        contact = records.get(session, "Contact", contact_id)
        if contact.fields.get("AccountId") != account.id:
            contact = records.update(session, "Contact", contact.id, {"AccountId": account.id}, system=True)
    else:
        contact_values = dict(mapped("Contact"), LastName=values["LastName"], FirstName=values.get("FirstName"),
                              Email=values.get("Email"), Phone=values.get("Phone"), Title=values.get("Title"),
                              LeadSource=values.get("LeadSource"), AccountId=account.id)
        if not create_opportunity:
            contact_values.update(moved("Contact"))
        contact = records.create(session, "Contact", contact_values)
    changes = {"IsConverted": True, "Status": fields.CONVERTED_STATUS, "ConvertedDate": clock.today_iso(),
               "ConvertedAccountId": account.id, "ConvertedContactId": contact.id}
    if create_opportunity:
        opportunity_values = dict(mapped("Opportunity"),
                                  Name=opportunity_name or f"{values.get('Company') or values['LastName']}-",
                                  StageName="Prospecting", CloseDate=_in_days(30),
                                  AccountId=account.id, LeadSource=values.get("LeadSource"))
        opportunity_values.update(moved("Opportunity"))
        opportunity = records.create(session, "Opportunity", opportunity_values)
        records.create(session, "OpportunityContactRole",
                       {"OpportunityId": opportunity.id, "ContactId": contact.id, "IsPrimary": True})
        changes["ConvertedOpportunityId"] = opportunity.id
    return records.update(session, "Lead", lead.id, changes, system=True)


def _in_days(days: int) -> str:
    return (date.fromisoformat(clock.today_iso()) + timedelta(days=days)).isoformat()
