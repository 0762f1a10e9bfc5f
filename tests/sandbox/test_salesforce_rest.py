"""Salesforce sandbox contract over plain requests: OAuth, sObject rows, errors, limits (FACTS §2)."""
from __future__ import annotations

import time

import pytest
import requests


API = "/services/data/v62.0"


def test_refresh_token_grant_returns_a_token_and_this_sandboxs_instance_url(salesforce_url, salesforce_client):
    answer = requests.post(f"{salesforce_url}/services/oauth2/token", data=dict(
        salesforce_client, grant_type="refresh_token"))
    assert answer.status_code == 200
    body = answer.json()
    assert body["instance_url"] == salesforce_url
    assert body["token_type"] == "Bearer" and body["access_token"] and body["issued_at"].isdigit()
    assert {"id", "signature", "scope"} <= set(body)


@pytest.mark.parametrize("change, error", [
    ({"client_secret": "wrong"}, "invalid_client"),
    ({"refresh_token": "wrong"}, "invalid_grant"),
    ({"grant_type": "password"}, "unsupported_grant_type"),
])
def test_bad_token_requests_are_oauth_errors(salesforce_url, salesforce_client, change, error):
    form = {**salesforce_client, "grant_type": "refresh_token", **change}
    answer = requests.post(f"{salesforce_url}/services/oauth2/token", data=form)
    assert answer.status_code == 400
    assert answer.json()["error"] == error and answer.json()["error_description"]


def test_bad_or_expired_session_is_invalid_session_id(salesforce_url, salesforce_session):
    bad = requests.get(f"{salesforce_url}{API}/sobjects", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID", "fields": []}]
    assert salesforce_session.get(f"{API}/sobjects").status_code == 200
    requests.post(f"{salesforce_url}/_admin/sessions/expire")
    assert salesforce_session.get(f"{API}/sobjects").json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_create_read_update_delete_a_lead(salesforce_session, advance_sandbox_clock):
    created = salesforce_session.post(f"{API}/sobjects/Lead", json={
        "FirstName": "Ada", "LastName": "Lovelace", "Company": "Analytical Engines", "Email": "ada@ae.example"})
    assert created.status_code == 201
    body = created.json()
    assert body["success"] is True and body["errors"] == [] and body["id"].startswith("00Q") and len(body["id"]) == 18
    lead_id = body["id"]

    read = salesforce_session.get(f"{API}/sobjects/Lead/{lead_id}").json()
    assert read["attributes"] == {"type": "Lead", "url": f"{API}/sobjects/Lead/{lead_id}"}
    assert read["Status"] == "Open - Not Contacted" and read["IsConverted"] is False
    assert read["SystemModstamp"].endswith("+0000")

    advance_sandbox_clock(1)
    assert salesforce_session.patch(f"{API}/sobjects/Lead/{lead_id}",
                                    json={"Status": "Working - Contacted"}).status_code == 204
    after = salesforce_session.get(f"{API}/sobjects/Lead/{lead_id}?fields=Status,SystemModstamp,LastModifiedDate").json()
    assert after["Status"] == "Working - Contacted"
    assert after["SystemModstamp"] > read["SystemModstamp"]
    assert after["LastModifiedDate"] == after["SystemModstamp"]

    assert salesforce_session.delete(f"{API}/sobjects/Lead/{lead_id}").status_code == 204
    gone = salesforce_session.get(f"{API}/sobjects/Lead/{lead_id}")
    assert gone.status_code == 404 and gone.json()[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_collections_update_of_a_deleted_record_is_entity_is_deleted_per_record(salesforce_session):
    kept = salesforce_session.post(f"{API}/sobjects/Account", json={"Name": "Kept"}).json()["id"]
    gone = salesforce_session.post(f"{API}/sobjects/Account", json={"Name": "Gone"}).json()["id"]
    assert salesforce_session.delete(f"{API}/sobjects/Account/{gone}").status_code == 204
    answer = salesforce_session.patch(f"{API}/composite/sobjects", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Account"}, "Id": kept, "Name": "Kept, renamed"},
        {"attributes": {"type": "Account"}, "Id": gone, "Name": "Gone, renamed"},
        {"attributes": {"type": "Contact"}, "Id": kept, "LastName": "An Account's id"}]})
    assert answer.status_code == 200
    first, second, third = answer.json()
    assert first == {"id": kept, "success": True, "errors": []}
    assert second["success"] is False
    assert [(e["statusCode"], e["message"]) for e in second["errors"]] == [("ENTITY_IS_DELETED", "entity is deleted")]
    assert [e["statusCode"] for e in third["errors"]] == ["INVALID_ID_FIELD"]


def test_lead_without_last_name_is_required_field_missing(salesforce_session):
    answer = salesforce_session.post(f"{API}/sobjects/Lead", json={"Company": "Acme"})
    assert answer.status_code == 400
    assert answer.json() == [{"message": "Required fields are missing: [LastName]",
                              "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["LastName"]}]


@pytest.mark.parametrize("sobject, body, missing", [
    ("Opportunity", {"Name": "x"}, ["StageName", "CloseDate"]),
    ("Account", {"Website": "acme.example"}, ["Name"]),
    ("Contact", {"FirstName": "x"}, ["LastName"]),
    ("Lead", {"LastName": "x"}, ["Company"]),
])
def test_required_fields_of_each_object(salesforce_session, sobject, body, missing):
    answer = salesforce_session.post(f"{API}/sobjects/{sobject}", json=body)
    assert answer.status_code == 400
    assert answer.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert answer.json()[0]["fields"] == missing


def test_restricted_picklist_and_unknown_field_are_rejected(salesforce_session):
    bad_status = salesforce_session.post(f"{API}/sobjects/Lead", json={
        "LastName": "x", "Company": "y", "Status": "Maybe"})
    unknown = salesforce_session.post(f"{API}/sobjects/Lead", json={"LastName": "x", "Company": "y", "Shoe__c": 1})
    assert bad_status.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert unknown.status_code == 400 and unknown.json()[0]["errorCode"] == "INVALID_FIELD"


def test_upsert_by_external_id_creates_201_then_updates_200(salesforce_session):
    url = f"{API}/sobjects/Lead/Portal_Referral_Id__c/R-1001"
    created = salesforce_session.patch(url, json={"LastName": "Doe", "Company": "Acme", "Sync_with_Portal__c": True})
    assert created.status_code == 201
    assert created.json() == {"id": created.json()["id"], "success": True, "errors": [], "created": True}
    updated = salesforce_session.patch(url, json={"Status": "Working - Contacted"})
    assert updated.status_code == 200
    assert updated.json()["created"] is False and updated.json()["id"] == created.json()["id"]
    read = salesforce_session.get(url).json()
    assert read["Portal_Referral_Id__c"] == "R-1001" and read["Sync_with_Portal__c"] is True


def test_duplicate_external_id_is_duplicate_value(salesforce_session):
    body = {"LastName": "Doe", "Company": "Acme", "Portal_Referral_Id__c": "R-7"}
    first = salesforce_session.post(f"{API}/sobjects/Lead", json=body)
    second = salesforce_session.post(f"{API}/sobjects/Lead", json=body)
    assert first.status_code == 201 and second.status_code == 400
    assert second.json()[0]["errorCode"] == "DUPLICATE_VALUE"
    assert first.json()["id"] in second.json()[0]["message"]


def test_opportunity_stage_sets_closed_and_won(salesforce_session):
    created = salesforce_session.post(f"{API}/sobjects/Opportunity", json={
        "Name": "Deal", "StageName": "Prospecting", "CloseDate": "2026-12-31", "Amount": 1200})
    opportunity_id = created.json()["id"]
    salesforce_session.patch(f"{API}/sobjects/Opportunity/{opportunity_id}", json={"StageName": "Closed Won"})
    read = salesforce_session.get(f"{API}/sobjects/Opportunity/{opportunity_id}").json()
    assert (read["IsClosed"], read["IsWon"], read["Probability"]) == (True, True, 100.0)
    assert read["Amount"] == 1200.0


def test_describe_lists_fields_picklists_and_record_types(salesforce_session):
    body = salesforce_session.get(f"{API}/sobjects/Account/describe").json()
    by_name = {f["name"]: f for f in body["fields"]}
    assert by_name["Name"]["nillable"] is False and by_name["Name"]["createable"] is True
    assert by_name["Portal_Org_Id__c"]["externalId"] is True and by_name["Portal_Org_Id__c"]["unique"]
    assert [v["value"] for v in by_name["Portal_Partner_Status__c"]["picklistValues"]] == [
        "Active Partner", "Inactive Partner", "Active Distributor", "Inactive Distributor"]
    assert by_name["Sync_with_Portal__c"]["type"] == "boolean"
    assert {t["name"] for t in body["recordTypeInfos"]} == {"Master", "Partner", "Distributor", "Customer"}
    lead = salesforce_session.get(f"{API}/sobjects/Lead/describe").json()
    status = next(f for f in lead["fields"] if f["name"] == "Status")
    assert status["defaultedOnCreate"] is True and status["restrictedPicklist"] is True


def test_limits_and_the_limit_info_header(salesforce_session, salesforce_url):
    first = salesforce_session.get(f"{API}/limits")
    used = int(first.headers["Sforce-Limit-Info"].split("=")[1].split("/")[0])
    assert first.json()["DailyApiRequests"]["Max"] == 15000
    second = salesforce_session.get(f"{API}/limits")
    assert second.headers["Sforce-Limit-Info"] == f"api-usage={used + 1}/15000"


def test_daily_limit_exhausted_is_request_limit_exceeded(salesforce_session, salesforce_url):
    requests.post(f"{salesforce_url}/_admin/limits", json={"daily": 2})
    statuses = [salesforce_session.get(f"{API}/sobjects").status_code for _ in range(3)]
    assert statuses == [200, 200, 403]
    over = salesforce_session.get(f"{API}/sobjects")
    assert over.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_retired_version_is_410_and_versions_are_listed(salesforce_session, salesforce_url):
    assert salesforce_session.get("/services/data/v30.0/sobjects").status_code == 410
    versions = requests.get(f"{salesforce_url}/services/data/").json()
    assert {"label", "url", "version"} <= set(versions[-1]) and versions[-1]["version"] == "68.0"


def test_get_updated_lists_changed_ids(salesforce_session):
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    lead = salesforce_session.post(f"{API}/sobjects/Lead", json={"LastName": "x", "Company": "y"}).json()["id"]
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
    body = salesforce_session.get(f"{API}/sobjects/Lead/updated/", params={"start": start, "end": end}).json()
    assert body["ids"] == [lead] and body["latestDateCovered"]
    backwards = salesforce_session.get(f"{API}/sobjects/Lead/updated/", params={"start": end, "end": start})
    assert backwards.status_code == 400 and backwards.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"


def test_upsert_answers_follow_the_api_version(salesforce_session):
    """Before 46.0 an upsert that updates answers 204 and collections upsert does not exist (FACTS §2.3, §2.4)."""
    url = "/services/data/v45.0/sobjects/Lead/Portal_Referral_Id__c/R-45"
    created = salesforce_session.patch(url, json={"LastName": "Old", "Company": "Version"})
    assert created.status_code == 201 and "created" not in created.json()
    assert salesforce_session.patch(url, json={"Title": "x"}).status_code == 204
    old_collections = salesforce_session.patch("/services/data/v45.0/composite/sobjects/Lead/Portal_Referral_Id__c",
                                               json={"records": []})
    assert old_collections.status_code == 404 and old_collections.json()[0]["errorCode"] == "NOT_FOUND"
