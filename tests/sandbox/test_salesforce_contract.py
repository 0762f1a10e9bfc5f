"""The Salesforce sandbox driven by simple-salesforce (a client none of us wrote), over HTTPS.

What the Salesforce connector (#13) and the organization sync (#14) rely on: sObject rows and
upserts, the Composite resource, sObject Collections upserts, relationship queries, parents set by
external id, lead conversion, record types, setup objects, duplicate rules, the 300 answer,
getUpdated/getDeleted, limits and the OAuth flows. Calls simple-salesforce has no helper for go
through its `restful()` (the documented request shapes, FACTS §2.4, §2.5).
"""
from __future__ import annotations

import datetime
import time

import jwt
import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (SalesforceExpiredSession, SalesforceMalformedRequest,
                                          SalesforceMoreThanOneRecord, SalesforceRefusedRequest,
                                          SalesforceResourceNotFound)

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _admin(salesforce_url, path, body=None):
    answer = requests.post(f"{salesforce_url}/_admin/{path}", json=body or {}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _error(excinfo) -> dict:
    return excinfo.value.content[0]


def _account(sf, org_id="O-1", **values):
    return sf.Account.create(dict({"Name": f"Partner {org_id}", "Portal_Org_Id__c": org_id,
                                   "Sync_with_Portal__c": True}, **values))["id"]


# --- rows and upserts ------------------------------------------------------------------------

def test_rows_and_upsert_by_external_id(sf):
    created = sf.Lead.create({"LastName": "Doe", "Company": "Acme", "Email": "jd@acme.example"})
    assert created["success"] is True and created["id"].startswith("00Q")
    assert sf.Lead.update(created["id"], {"Title": "CTO"}) == 204
    assert sf.Lead.get(created["id"])["Title"] == "CTO"

    assert sf.Lead.upsert("Portal_Referral_Id__c/R-1", {"LastName": "Roe", "Company": "Beta"}) == 201
    assert sf.Lead.upsert("Portal_Referral_Id__c/R-1", {"Status": "Working - Contacted"}) == 200
    upserted = sf.Lead.get_by_custom_id("Portal_Referral_Id__c", "R-1")
    assert (upserted["LastName"], upserted["Status"]) == ("Roe", "Working - Contacted")

    assert sf.Lead.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as gone:
        sf.Lead.get(created["id"])
    assert _error(gone)["errorCode"] == "ENTITY_IS_DELETED"


def test_collections_upsert_by_external_id_200_records_at_a_time(sf):
    records = [{"attributes": {"type": "Lead"}, "Portal_Referral_Id__c": f"R-{i}", "LastName": f"L{i}",
                "Company": "Acme", "Sync_with_Portal__c": True} for i in range(200)]
    url = "composite/sobjects/Lead/Portal_Referral_Id__c"
    first = sf.restful(url, method="PATCH", json={"allOrNone": False, "records": records})
    assert len(first) == 200 and all(r["success"] and r["created"] for r in first)
    again = sf.restful(url, method="PATCH", json={"allOrNone": False, "records": records})
    assert [r["id"] for r in again] == [r["id"] for r in first]
    assert not any(r["created"] for r in again)
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 200

    with pytest.raises(SalesforceMalformedRequest) as too_many:
        sf.restful(url, method="PATCH", json={"records": records + records[:1]})
    assert _error(too_many)["errorCode"] == "EXCEEDED_ID_LIMIT"

    bad = [dict(records[0], LastName="Changed"), {"attributes": {"type": "Lead"},
                                                  "Portal_Referral_Id__c": "R-new", "LastName": "x"}]
    rolled = sf.restful(url, method="PATCH", json={"allOrNone": True, "records": bad})
    assert rolled[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert rolled[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sf.Lead.get_by_custom_id("Portal_Referral_Id__c", "R-0")["LastName"] == "L0"


# --- the Composite resource ------------------------------------------------------------------

def test_composite_graph_of_references_in_one_call(sf, salesforce_url):
    requests.delete(f"{salesforce_url}/_admin/stats", timeout=10)
    answer = sf.restful("composite", method="POST", json={"allOrNone": True, "compositeRequest": [
        {"method": "PATCH", "url": "/services/data/v62.0/sobjects/Account/Portal_Org_Id__c/O-9",
         "referenceId": "account", "body": {"Name": "Nine Partners", "Sync_with_Portal__c": True}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "contact",
         "body": {"LastName": "Nine", "AccountId": "@{account.id}"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Opportunity", "referenceId": "deal",
         "body": {"Name": "Nine deal", "StageName": "Prospecting", "CloseDate": "2026-12-31",
                  "AccountId": "@{account.id}"}},
        {"method": "GET", "url": "/services/data/v62.0/query?q=SELECT+Id,Name+FROM+Account", "referenceId": "q"},
        {"method": "GET", "url": "/services/data/v62.0/sobjects/Account/@{q.records[0].Id}?fields=Name",
         "referenceId": "read"},
    ]})["compositeResponse"]
    assert [a["httpStatusCode"] for a in answer] == [201, 201, 201, 200, 200]
    stats = requests.get(f"{salesforce_url}/_admin/stats", timeout=10).json()
    assert stats["endpoints"] == {"POST /services/data/v62.0/composite": 1}  # one API call
    account_id = answer[0]["body"]["id"]
    assert answer[1]["httpHeaders"]["Location"] == f"/services/data/v62.0/sobjects/Contact/{answer[1]['body']['id']}"
    assert sf.Contact.get(answer[1]["body"]["id"])["AccountId"] == account_id
    assert sf.Opportunity.get(answer[2]["body"]["id"])["AccountId"] == account_id
    assert answer[4]["body"]["Name"] == "Nine Partners"


def test_composite_reads_look_ups_and_deletions_then_writes_past_duplicate_rules(sf, salesforce_url):
    """The connector's two calls a batch: queries (a relationship field in WHERE, `= null`) and
    getDeleted as GET subrequests of one Composite call, then a Collections upsert and update as
    subrequests of another, the upsert with its own Sforce-Duplicate-Rule-Header."""
    from urllib.parse import quote
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
    lead = sf.Lead.create({"LastName": "Known", "Company": "Acme", "Email": "known@acme.example"})["id"]
    contact = sf.Contact.create({"LastName": "Buyer", "Email": "buyer@acme.example"})["id"]
    deal = sf.Opportunity.create({"Name": "Renewal", "StageName": "Prospecting", "CloseDate": "2027-01-31"})["id"]
    sf.OpportunityContactRole.create({"OpportunityId": deal, "ContactId": contact})
    gone = sf.Lead.create({"LastName": "Gone", "Company": "Acme"})["id"]
    sf.Lead.delete(gone)
    end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=1)
    emails = "('known@acme.example', 'buyer@acme.example')"
    queries = {"leads": f"SELECT Id, Email FROM Lead WHERE Email IN {emails} AND Portal_Referral_Id__c = null",
               "roles": "SELECT ContactId, Opportunity.Id, Opportunity.IsClosed FROM OpportunityContactRole "
                        f"WHERE Contact.Email IN {emails}"}
    window = f"start={quote(start.strftime('%Y-%m-%dT%H:%M:%SZ'))}&end={quote(end.strftime('%Y-%m-%dT%H:%M:%SZ'))}"
    requests.delete(f"{salesforce_url}/_admin/stats", timeout=10)
    answer = sf.restful("composite", method="POST", json={"allOrNone": False, "compositeRequest": [
        *({"method": "GET", "referenceId": name, "url": "/services/data/v62.0/query?q=" + quote(soql)}
          for name, soql in queries.items()),
        {"method": "GET", "referenceId": "deleted", "url": f"/services/data/v62.0/sobjects/Lead/deleted/?{window}"},
    ]})["compositeResponse"]
    found = {a["referenceId"]: a for a in answer}
    assert [r["Id"] for r in found["leads"]["body"]["records"]] == [lead]
    assert [(r["ContactId"], r["Opportunity"]["Id"], r["Opportunity"]["IsClosed"])
            for r in found["roles"]["body"]["records"]] == [(contact, deal, False)]
    assert [d["id"] for d in found["deleted"]["body"]["deletedRecords"]] == [gone]

    answer = sf.restful("composite", method="POST", json={"allOrNone": False, "compositeRequest": [
        {"method": "PATCH", "referenceId": "upsert", "url": "/services/data/v62.0/composite/sobjects/Lead/Portal_Referral_Id__c",
         "httpHeaders": {"Sforce-Duplicate-Rule-Header": "allowSave=true"},
         "body": {"allOrNone": False, "records": [{"attributes": {"type": "Lead"}, "Portal_Referral_Id__c": "7",
                                                   "LastName": "Again", "Company": "Acme",
                                                   "Email": "known@acme.example"}]}},
        {"method": "PATCH", "referenceId": "update", "url": "/services/data/v62.0/composite/sobjects",
         "body": {"allOrNone": False, "records": [
             {"attributes": {"type": "Contact"}, "Id": contact, "Sync_with_Portal__c": True},
             {"attributes": {"type": "Opportunity"}, "Id": deal, "Portal_Referral_Id__c": "8"}]}},
    ]})["compositeResponse"]
    assert [a["httpStatusCode"] for a in answer] == [200, 200]
    assert answer[0]["body"][0]["success"] is True and answer[0]["body"][0]["created"] is True
    assert [r["success"] for r in answer[1]["body"]] == [True, True]
    stats = requests.get(f"{salesforce_url}/_admin/stats", timeout=10).json()
    assert stats["endpoints"] == {"POST /services/data/v62.0/composite": 2}   # two API calls in all
    # Without the header the same create is refused by the duplicate rule.
    refused = sf.restful("composite", method="POST", json={"allOrNone": False, "compositeRequest": [
        {"method": "PATCH", "referenceId": "upsert", "url": "/services/data/v62.0/composite/sobjects/Lead/Portal_Referral_Id__c",
         "body": {"allOrNone": False, "records": [{"attributes": {"type": "Lead"}, "Portal_Referral_Id__c": "9",
                                                   "LastName": "Third", "Company": "Acme",
                                                   "Email": "known@acme.example"}]}}]})["compositeResponse"]
    assert refused[0]["body"][0]["errors"][0]["statusCode"] == "DUPLICATES_DETECTED"


def test_composite_all_or_none_rolls_everything_back(sf):
    answer = sf.restful("composite", method="POST", json={"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "ok",
         "body": {"Name": "Fine"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "bad",
         "body": {"FirstName": "No last name", "AccountId": "@{ok.id}"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "after",
         "body": {"Name": "Never"}},
    ]})["compositeResponse"]
    assert [a["httpStatusCode"] for a in answer] == [400, 400, 400]
    assert answer[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert answer[0]["body"][0]["errorCode"] == answer[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0


def test_composite_without_all_or_none_halts_only_what_depends_on_a_failure(sf):
    answer = sf.restful("composite", method="POST", json={"compositeRequest": [
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "bad", "body": {}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "child",
         "body": {"LastName": "x", "AccountId": "@{bad.id}"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "other",
         "body": {"Name": "Independent"}},
    ]})["compositeResponse"]
    assert [a["httpStatusCode"] for a in answer] == [400, 400, 201]
    assert answer[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert sf.query("SELECT Name FROM Account")["records"][0]["Name"] == "Independent"


def test_composite_request_shape_is_validated(sf):
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite", method="POST", json={"compositeRequest": [
            {"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "same"},
            {"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "same"}]})
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite", method="POST", json={"compositeRequest": [
            {"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": f"r{i}"} for i in range(26)]})


# --- relationships ---------------------------------------------------------------------------

def test_parent_set_by_its_external_id_in_writes(sf):
    account_id = _account(sf, "O-1")
    contact = sf.Contact.create({"LastName": "Doe", "Account": {"Portal_Org_Id__c": "O-1"}})
    assert sf.Contact.get(contact["id"])["AccountId"] == account_id
    upserted = sf.restful("composite/sobjects/Contact/Portal_User_Id__c", method="PATCH", json={"records": [
        {"attributes": {"type": "Contact"}, "Portal_User_Id__c": "U-1", "LastName": "Roe",
         "Account": {"attributes": {"type": "Account"}, "Portal_Org_Id__c": "O-1"}},
        {"attributes": {"type": "Contact"}, "Portal_User_Id__c": "U-2", "LastName": "Nobody",
         "Account": {"Portal_Org_Id__c": "O-404"}}]})
    assert upserted[0]["success"] is True
    assert sf.Contact.get(upserted[0]["id"])["AccountId"] == account_id
    assert upserted[1]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert "O-404" in upserted[1]["errors"][0]["message"]
    opportunity = sf.Opportunity.upsert("Portal_Referral_Id__c/D-1", {
        "Name": "Deal", "StageName": "Prospecting", "CloseDate": "2026-12-31",
        "Account": {"Portal_Org_Id__c": "O-1"}})
    assert opportunity == 201
    assert sf.Opportunity.get_by_custom_id("Portal_Referral_Id__c", "D-1")["AccountId"] == account_id


def test_relationship_fields_and_child_subqueries_in_soql(sf):
    account_id = _account(sf, "O-1", Portal_Partner_Status__c="Active Partner")
    _account(sf, "O-2")
    for name in ("Beta", "Alpha"):
        sf.Contact.create({"LastName": name, "AccountId": account_id})
    sf.Contact.create({"LastName": "Loner"})

    contacts = sf.query("SELECT Id, LastName, Account.Name, Account.Owner.Name FROM Contact "
                        "WHERE Account.Portal_Org_Id__c = 'O-1' ORDER BY LastName")["records"]
    assert [c["LastName"] for c in contacts] == ["Alpha", "Beta"]
    assert contacts[0]["Account"]["Name"] == "Partner O-1"
    assert contacts[0]["Account"]["attributes"]["type"] == "Account"
    assert contacts[0]["Account"]["Owner"]["Name"] == "Sandbox Admin"
    loner = sf.query("SELECT LastName, Account.Name FROM Contact WHERE AccountId = null")["records"]
    assert loner[0]["Account"] is None

    accounts = sf.query("SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName DESC), "
                        "(SELECT Id FROM Opportunities) FROM Account ORDER BY Name")["records"]
    assert [c["LastName"] for c in accounts[0]["Contacts"]["records"]] == ["Beta", "Alpha"]
    assert accounts[0]["Contacts"]["totalSize"] == 2 and accounts[0]["Opportunities"] is None
    assert accounts[1]["Contacts"] is None
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.query("SELECT Id, Nope.Name FROM Contact")
    assert _error(bad)["errorCode"] == "INVALID_FIELD"


# --- leads -----------------------------------------------------------------------------------

def test_lead_conversion_fills_the_converted_fields_and_locks_the_lead(sf, salesforce_url):
    lead_id = sf.Lead.create({"LastName": "Doe", "Company": "Acme", "Portal_Referral_Id__c": "R-7",
                              "Sync_with_Portal__c": True})["id"]
    _admin(salesforce_url, f"leads/{lead_id}/convert", {"create_opportunity": True})
    lead = sf.query("SELECT IsConverted, ConvertedOpportunityId, ConvertedAccountId, ConvertedContactId, "
                    f"ConvertedOpportunity.Portal_Referral_Id__c FROM Lead WHERE Id = '{lead_id}'")["records"][0]
    assert lead["IsConverted"] is True
    assert lead["ConvertedOpportunity"]["Portal_Referral_Id__c"] == "R-7"
    assert sf.Contact.get(lead["ConvertedContactId"])["AccountId"] == lead["ConvertedAccountId"]
    assert sf.Opportunity.get(lead["ConvertedOpportunityId"])["Sync_with_Portal__c"] is True
    with pytest.raises(SalesforceMalformedRequest) as locked:
        sf.Lead.update(lead_id, {"Title": "Too late"})
    assert _error(locked)["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    upsert = sf.restful("composite/sobjects/Lead/Portal_Referral_Id__c", method="PATCH", json={"records": [
        {"attributes": {"type": "Lead"}, "Portal_Referral_Id__c": "R-7", "Title": "Too late"}]})
    assert upsert[0]["errors"][0]["statusCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"


def test_duplicate_rules_detect_an_existing_email(sf, salesforce_url):
    first = sf.Lead.create({"LastName": "Doe", "Company": "Acme", "Email": "jd@acme.example"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as duplicate:
        sf.Lead.create({"LastName": "Doe", "Company": "Acme", "Email": "JD@acme.example"})
    error = _error(duplicate)
    assert error["errorCode"] == "DUPLICATES_DETECTED"
    assert error["duplicateResut"]["allowSave"] is True
    assert error["duplicateResut"]["matchResults"][0]["matchRecords"][0]["record"]["Id"] == first
    allowed = sf.Lead.create({"LastName": "Doe", "Company": "Acme", "Email": "jd@acme.example"},
                             headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"})
    assert allowed["success"] is True

    batch = sf.restful("composite/sobjects", method="POST", json={"records": [
        {"attributes": {"type": "Lead"}, "LastName": "x", "Company": "y", "Email": "jd@acme.example"},
        {"attributes": {"type": "Lead"}, "LastName": "x", "Company": "y", "Email": "new@acme.example"}]})
    assert batch[0]["errors"][0]["statusCode"] == "DUPLICATES_DETECTED" and batch[1]["success"] is True

    _admin(salesforce_url, "org", {"duplicate_rules": "block"})
    with pytest.raises(SalesforceMalformedRequest) as blocked:
        sf.Lead.create({"LastName": "Doe", "Company": "Acme", "Email": "jd@acme.example"},
                       headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"})
    assert _error(blocked)["duplicateResut"]["allowSave"] is False
    _admin(salesforce_url, "org", {"duplicate_rules": "off"})
    assert sf.Lead.create({"LastName": "Doe", "Company": "Acme", "Email": "jd@acme.example"})["success"]


def test_an_external_id_held_by_several_records_is_300(sf, salesforce_url):
    _admin(salesforce_url, "org", {"not_unique": ["Contact.Portal_User_Id__c"]})
    ids = [sf.Contact.create({"LastName": n, "Portal_User_Id__c": "U-1"})["id"] for n in ("A", "B")]
    with pytest.raises(SalesforceMoreThanOneRecord) as several:
        sf.Contact.get_by_custom_id("Portal_User_Id__c", "U-1")
    assert sorted(several.value.content) == sorted(f"/services/data/v62.0/sobjects/Contact/{i}" for i in ids)
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Contact.upsert("Portal_User_Id__c/U-1", {"Title": "x"})
    batch = sf.restful("composite/sobjects/Contact/Portal_User_Id__c", method="PATCH", json={"records": [
        {"attributes": {"type": "Contact"}, "Portal_User_Id__c": "U-1", "Title": "x"}]})
    assert batch[0]["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"


# --- schema ----------------------------------------------------------------------------------

def test_describe_gives_what_field_mappings_need(sf):
    account = {f["name"]: f for f in sf.Account.describe()["fields"]}
    status = account["Portal_Partner_Status__c"]
    assert status["type"] == "picklist" and status["restrictedPicklist"] is True and status["custom"] is True
    assert [v["value"] for v in status["picklistValues"]] == [
        "Active Partner", "Inactive Partner", "Active Distributor", "Inactive Distributor"]
    org_id = account["Portal_Org_Id__c"]
    assert (org_id["externalId"], org_id["unique"], org_id["length"], org_id["nillable"]) == (True, True, 64, True)
    assert account["Name"]["createable"] and not account["Name"]["nillable"] and account["Name"]["length"] == 255
    assert account["Id"]["createable"] is False
    contact = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert contact["Portal_Active__c"]["type"] == "boolean"
    assert contact["AccountId"]["relationshipName"] == "Account" and contact["AccountId"]["referenceTo"] == ["Account"]
    for sobject in ("Lead", "Contact", "Opportunity"):
        referral = {f["name"]: f for f in getattr(sf, sobject).describe()["fields"]}["Portal_Referral_Id__c"]
        assert referral["externalId"] and referral["unique"]
    children = {c["relationshipName"]: c["childSObject"] for c in sf.Account.describe()["childRelationships"]}
    assert children["Contacts"] == "Contact" and children["Opportunities"] == "Opportunity"
    with pytest.raises(SalesforceMalformedRequest) as restricted:
        sf.Account.create({"Name": "x", "Portal_Partner_Status__c": "Gold Partner"})
    assert _error(restricted)["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_an_org_can_lack_the_portal_fields(sf, salesforce_url):
    _admin(salesforce_url, "org", {"missing": ["Lead.Portal_Referral_Id__c", "Account.Sync_with_Portal__c",
                                               "Account.Portal_Partner_Status__c=Active Distributor"]})
    lead = {f["name"] for f in sf.Lead.describe()["fields"]}
    assert "Portal_Referral_Id__c" not in lead and "Sync_with_Portal__c" in lead
    account = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert "Sync_with_Portal__c" not in account
    assert "Active Distributor" not in [v["value"] for v in account["Portal_Partner_Status__c"]["picklistValues"]]
    with pytest.raises(SalesforceMalformedRequest) as missing:
        sf.Lead.create({"LastName": "x", "Company": "y", "Portal_Referral_Id__c": "R-1"})
    assert _error(missing)["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.upsert("Portal_Referral_Id__c/R-1", {"LastName": "x", "Company": "y"})
    with pytest.raises(SalesforceMalformedRequest):
        sf.Account.create({"Name": "x", "Portal_Partner_Status__c": "Active Distributor"})
    requests.post(f"{salesforce_url}/_admin/reset", timeout=10)
    assert "Portal_Referral_Id__c" in {f["name"] for f in sf.Lead.describe()["fields"]}


def test_record_types_are_validated_per_object_and_queryable(sf):
    types = sf.query("SELECT Id, DeveloperName, SobjectType FROM RecordType WHERE SobjectType = 'Account' "
                     "ORDER BY DeveloperName")["records"]
    assert [t["DeveloperName"] for t in types] == ["Customer", "Distributor", "Partner"]
    contact_types = sf.query("SELECT Id FROM RecordType WHERE SobjectType = 'Contact' "
                             "AND DeveloperName = 'Partner_Contact'")["records"]
    partner = next(t["Id"] for t in types if t["DeveloperName"] == "Partner")
    account_id = sf.Account.create({"Name": "P", "RecordTypeId": partner})["id"]
    read = sf.query(f"SELECT RecordType.DeveloperName FROM Account WHERE Id = '{account_id}'")["records"][0]
    assert read["RecordType"]["DeveloperName"] == "Partner"
    with pytest.raises(SalesforceMalformedRequest) as wrong:
        sf.Account.create({"Name": "P", "RecordTypeId": contact_types[0]["Id"]})
    assert _error(wrong)["errorCode"] == "INVALID_CROSS_REFERENCE_KEY" and _error(wrong)["fields"] == ["RecordTypeId"]
    infos = {i["developerName"]: i for i in sf.Account.describe()["recordTypeInfos"]}
    assert infos["Partner"]["recordTypeId"] == partner and infos["Master"]["master"] is True


def test_setup_objects_a_connector_reads(sf):
    statuses = sf.query("SELECT MasterLabel, IsConverted, IsDefault FROM LeadStatus ORDER BY SortOrder")["records"]
    assert [s["MasterLabel"] for s in statuses if s["IsConverted"]] == ["Closed - Converted"]
    assert statuses[0]["IsDefault"] is True
    stages = sf.query("SELECT ApiName, IsClosed, IsWon FROM OpportunityStage WHERE IsWon = true")["records"]
    assert [s["ApiName"] for s in stages] == ["Closed Won"]
    users = sf.query("SELECT Id, Name, Email FROM User WHERE IsActive = true")["records"]
    assert len(users) == 3 and all(u["Email"] for u in users)
    inactive = sf.query("SELECT Id FROM User WHERE IsActive = false")["records"][0]["Id"]
    with pytest.raises(SalesforceMalformedRequest) as owner:
        sf.Lead.create({"LastName": "x", "Company": "y", "OwnerId": inactive})
    assert _error(owner)["errorCode"] == "INACTIVE_OWNER_OR_USER"
    organization = sf.query("SELECT Id, Name FROM Organization")["records"][0]
    assert organization["Id"].startswith("00D")
    with pytest.raises(SalesforceMalformedRequest):
        sf.RecordType.create({"Name": "x"})


# --- change detection, limits, sessions ------------------------------------------------------

def test_get_updated_and_get_deleted(sf):
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
    kept = sf.Lead.create({"LastName": "Kept", "Company": "A"})["id"]
    dropped = sf.Lead.create({"LastName": "Dropped", "Company": "A"})["id"]
    sf.Lead.delete(dropped)
    end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=1)
    assert sf.Lead.updated(start, end)["ids"] == [kept]
    deleted = sf.Lead.deleted(start, end)
    assert [d["id"] for d in deleted["deletedRecords"]] == [dropped]
    assert deleted["earliestDateAvailable"] and deleted["latestDateCovered"]
    stamp = sf.query(f"SELECT SystemModstamp FROM Lead WHERE Id = '{kept}'")["records"][0]["SystemModstamp"]
    assert stamp.endswith("+0000")


def test_limit_info_header_and_request_limit_exceeded(sf, salesforce_url):
    sf.query("SELECT COUNT() FROM Lead")
    used = sf.api_usage["api-usage"].used
    assert sf.api_usage["api-usage"].total == 15000
    sf.query("SELECT COUNT() FROM Lead")
    assert sf.api_usage["api-usage"].used == used + 1
    _admin(salesforce_url, "limits", {"daily": 1})  # a new allocation of one request
    sf.query("SELECT COUNT() FROM Lead")
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.query("SELECT COUNT() FROM Lead")
    assert _error(refused)["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_expired_session_is_invalid_session_id_and_refresh_gives_a_new_one(
        sf, salesforce_url, salesforce_instance_url, salesforce_client, https_session):
    _admin(salesforce_url, "sessions/expire", {"access_token": sf.session_id})
    with pytest.raises(SalesforceExpiredSession) as expired:
        sf.query("SELECT COUNT() FROM Lead")
    assert _error(expired) == {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID",
                               "fields": []}
    token = https_session.post(f"{salesforce_instance_url}/services/oauth2/token",
                               data=dict(salesforce_client, grant_type="refresh_token")).json()
    fresh = Salesforce(instance_url=token["instance_url"], session_id=token["access_token"],
                       session=https_session, version="62.0")
    assert fresh.query("SELECT COUNT() FROM Lead")["totalSize"] == 0


def test_jwt_bearer_flow_with_a_pyjwt_assertion(jwt_key, sandbox_config, salesforce_instance_url, https_session):
    def token(**claims):
        assertion = jwt.encode(dict({"iss": sandbox_config["SANDBOX_SALESFORCE_CLIENT_ID"],
                                     "sub": "integration@portal.example", "aud": "https://login.salesforce.com",
                                     "exp": int(time.time()) + 180}, **claims), jwt_key, algorithm="RS256")
        return https_session.post(f"{salesforce_instance_url}/services/oauth2/token",
                                  data={"grant_type": JWT_GRANT, "assertion": assertion})

    good = token()
    assert good.status_code == 200
    body = good.json()
    assert body["instance_url"] == salesforce_instance_url and body["token_type"] == "Bearer"
    assert "refresh_token" not in body and body["id"].endswith("/" + body["id"].rsplit("/", 1)[1])
    client = Salesforce(instance_url=body["instance_url"], session_id=body["access_token"],
                        session=https_session, version="62.0")
    assert client.query("SELECT COUNT() FROM Lead")["totalSize"] == 0
    assert token(exp=int(time.time()) - 10).json()["error"] == "invalid_grant"
    assert token(aud="https://elsewhere.example").json()["error"] == "invalid_grant"
    from cryptography.hazmat.primitives.asymmetric import rsa
    stranger = jwt.encode({"iss": sandbox_config["SANDBOX_SALESFORCE_CLIENT_ID"], "sub": "x@y.example",
                           "aud": "https://login.salesforce.com", "exp": int(time.time()) + 180},
                          rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256")
    forged = https_session.post(f"{salesforce_instance_url}/services/oauth2/token",
                                data={"grant_type": JWT_GRANT, "assertion": stranger})
    assert forged.status_code == 400 and forged.json()["error"] == "invalid_grant"


def test_contact_roles_link_contacts_to_opportunities(sf, salesforce_url):
    lead_id = sf.Lead.create({"LastName": "Doe", "Company": "Acme"})["id"]
    converted = _admin(salesforce_url, f"leads/{lead_id}/convert", {"create_opportunity": True})
    contact_id = converted["ConvertedContactId"]
    roles = sf.query("SELECT OpportunityId, IsPrimary, Opportunity.IsClosed FROM OpportunityContactRole "
                     f"WHERE ContactId = '{contact_id}'")["records"]
    assert [(r["OpportunityId"], r["IsPrimary"], r["Opportunity"]["IsClosed"]) for r in roles] == [
        (converted["ConvertedOpportunityId"], True, False)]

    answer = sf.restful("composite", method="POST", json={"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Opportunity", "referenceId": "deal",
         "body": {"Name": "Second", "StageName": "Prospecting", "CloseDate": "2026-12-31",
                  "AccountId": converted["ConvertedAccountId"]}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/OpportunityContactRole", "referenceId": "role",
         "body": {"OpportunityId": "@{deal.id}", "ContactId": contact_id, "Role": "Decision Maker"}}]})
    assert [a["httpStatusCode"] for a in answer["compositeResponse"]] == [201, 201]
    contact = sf.query("SELECT Id, (SELECT Role, Opportunity.Name FROM OpportunityContactRoles "
                       f"ORDER BY Role) FROM Contact WHERE Id = '{contact_id}'")["records"][0]
    assert [(r["Role"], r["Opportunity"]["Name"]) for r in contact["OpportunityContactRoles"]["records"]] == [
        (None, "Acme-"), ("Decision Maker", "Second")]
    with pytest.raises(SalesforceMalformedRequest) as missing:
        sf.OpportunityContactRole.create({"ContactId": contact_id})
    assert _error(missing)["errorCode"] == "REQUIRED_FIELD_MISSING"


def test_moving_the_sandbox_clock_expires_sessions_and_moves_stamps(sf, advance_sandbox_clock):
    lead_id = sf.Lead.create({"LastName": "Doe", "Company": "Acme"})["id"]
    before = sf.Lead.get(lead_id)["SystemModstamp"]
    advance_sandbox_clock(3600)
    sf.Lead.update(lead_id, {"Title": "CEO"})
    after = sf.Lead.get(lead_id)["SystemModstamp"]
    assert after[:13] > before[:13]  # an hour later, to the hour
    advance_sandbox_clock(7200)  # past SANDBOX_SALESFORCE_SESSION_SECONDS
    with pytest.raises(SalesforceExpiredSession):
        sf.Lead.get(lead_id)


def test_deal_registrations_portal_id_upserts_in_composite_and_follows_conversion(sf, salesforce_url):
    """`Portal_Deal_Id__c` (#13, deal registrations): an external id on Lead, Contact and Opportunity;
    an Opportunity upserted on it with its contact role in one Composite call; a converted Lead's id
    moves to the Opportunity."""
    account_id = sf.Account.create({"Name": "Acme"})["id"]
    contact_id = sf.Contact.create({"LastName": "Buyer", "AccountId": account_id})["id"]
    graph = [{"method": "PATCH", "url": "/services/data/v62.0/sobjects/Opportunity/Portal_Deal_Id__c/17",
              "referenceId": "deal", "body": {"Name": "Acme deal", "StageName": "Prospecting",
                                              "CloseDate": "2027-03-31", "AccountId": account_id}},
             {"method": "POST", "url": "/services/data/v62.0/sobjects/OpportunityContactRole", "referenceId": "role",
              "body": {"OpportunityId": "@{deal.id}", "ContactId": contact_id, "IsPrimary": True}}]
    answer = sf.restful("composite", method="POST", json={"allOrNone": True, "compositeRequest": graph})
    assert [a["httpStatusCode"] for a in answer["compositeResponse"]] == [201, 201]
    assert answer["compositeResponse"][0]["body"]["created"] is True
    opportunity = sf.Opportunity.get_by_custom_id("Portal_Deal_Id__c", "17")
    assert opportunity["AccountId"] == account_id
    roles = sf.query(f"SELECT ContactId FROM OpportunityContactRole WHERE OpportunityId = '{opportunity['Id']}'")
    assert [r["ContactId"] for r in roles["records"]] == [contact_id]

    assert sf.Lead.upsert("Portal_Deal_Id__c/18", {"LastName": "Doe", "Company": "Beta"}) == 201
    lead = sf.Lead.get_by_custom_id("Portal_Deal_Id__c", "18")
    converted = _admin(salesforce_url, f"leads/{lead['Id']}/convert", {"create_opportunity": True})
    assert sf.Opportunity.get(converted["ConvertedOpportunityId"])["Portal_Deal_Id__c"] == "18"


def test_like_is_case_insensitive_and_escaped_wildcards_are_literal(sf):
    """simple-salesforce's `format_soql` escapes quotes, backslashes and the LIKE wildcards % and _."""
    from simple_salesforce import format_soql
    for name in ("Acme 100% deal", "Acme 1000 deal", "O'Brien_renewal", "OBrienXrenewal"):
        sf.Opportunity.create({"Name": name, "StageName": "Prospecting", "CloseDate": "2027-01-31"})

    def names(soql):
        return sorted(r["Name"] for r in sf.query(soql)["records"])
    assert names(format_soql("SELECT Name FROM Opportunity WHERE Name LIKE '%{:like}%'", "100%")) == ["Acme 100% deal"]
    assert names(format_soql("SELECT Name FROM Opportunity WHERE Name LIKE '%{:like}%'", "o'brien_")) == [
        "O'Brien_renewal"]
    assert names("SELECT Name FROM Opportunity WHERE Name LIKE 'acme%'") == ["Acme 100% deal", "Acme 1000 deal"]
