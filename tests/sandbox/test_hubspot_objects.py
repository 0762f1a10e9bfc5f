"""HubSpot sandbox contract: records through HubSpot's own Python SDK, errors with requests."""
from __future__ import annotations

import re

import pytest
import requests
from hubspot.crm.contacts import (BatchInputSimplePublicObjectBatchInputUpsert,
                                  BatchReadInputSimplePublicObjectId, SimplePublicObjectInput,
                                  SimplePublicObjectInputForCreate)
from hubspot.crm.contacts.exceptions import ApiException
from hubspot.crm.deals import BatchInputSimplePublicObjectBatchInputUpsert as DealUpsertBatch
from hubspot.crm.properties import PropertyCreate


def _create_portal_referral_property(client):
    return client.crm.properties.core_api.create("deals", PropertyCreate(
        name="portal_referral_id", label="Portal referral ID", type="string", field_type="text",
        group_name="dealinformation", has_unique_value=True))


def test_sdk_creates_reads_and_updates_a_contact(hubspot_client, advance_sandbox_clock):
    created = hubspot_client.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(
        properties={"email": "Ada@Example.com", "firstname": "Ada", "lastname": "Lovelace"}))
    assert created.id.isdigit()
    assert created.properties["email"] == "ada@example.com"
    assert created.properties["hs_object_id"] == created.id
    assert created.created_at is not None and created.archived is False

    advance_sandbox_clock(1)
    updated = hubspot_client.crm.contacts.basic_api.update(
        created.id, SimplePublicObjectInput(properties={"phone": "555-0100"}))
    assert updated.properties["phone"] == "555-0100"
    assert updated.updated_at > created.updated_at

    read = hubspot_client.crm.contacts.basic_api.get_by_id(
        created.id, properties=["firstname", "phone", "jobtitle"])
    assert read.properties["firstname"] == "Ada"
    assert read.properties["jobtitle"] is None
    assert read.properties["lastmodifieddate"] > read.properties["createdate"]


def test_archived_contact_is_gone_and_its_email_is_free_again(hubspot_client):
    created = hubspot_client.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "gone@example.com"}))
    hubspot_client.crm.contacts.basic_api.archive(created.id)
    with pytest.raises(ApiException) as err:
        hubspot_client.crm.contacts.basic_api.get_by_id(created.id)
    assert err.value.status == 404
    again = hubspot_client.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "gone@example.com"}))
    assert again.id != created.id


def test_list_pages_with_after(hubspot_client):
    for i in range(5):
        hubspot_client.crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"email": f"p{i}@example.com"}))
    first = hubspot_client.crm.contacts.basic_api.get_page(limit=2)
    assert len(first.results) == 2 and first.paging.next.after
    rest = hubspot_client.crm.contacts.get_all()
    assert sorted(c.properties["email"] for c in rest) == [f"p{i}@example.com" for i in range(5)]


def test_batch_upsert_by_email_creates_then_updates(hubspot_client):
    def upsert(phone):
        return hubspot_client.crm.contacts.batch_api.upsert(BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[{"idProperty": "email", "id": f"u{i}@example.com", "properties": {"phone": phone}}
                    for i in range(3)]))

    first = upsert("1")
    assert first.status == "COMPLETE" and [r.new for r in first.results] == [True] * 3
    second = upsert("2")
    assert [r.new for r in second.results] == [False] * 3
    assert {r.id for r in first.results} == {r.id for r in second.results}
    read = hubspot_client.crm.contacts.batch_api.read(BatchReadInputSimplePublicObjectId(
        id_property="email", properties=["phone"], inputs=[{"id": "u1@example.com"}]))
    assert read.results[0].properties["phone"] == "2"


def test_batch_upsert_by_custom_unique_property(hubspot_client):
    created = _create_portal_referral_property(hubspot_client)
    assert created.has_unique_value is True
    inputs = [{"idProperty": "portal_referral_id", "id": f"R-{i}",
               "properties": {"dealname": f"Referral {i}", "dealstage": "appointmentscheduled",
                              "amount": "1000"}} for i in range(100)]
    answer = hubspot_client.crm.deals.batch_api.upsert(DealUpsertBatch(inputs=inputs))
    assert len(answer.results) == 100 and all(r.new for r in answer.results)

    inputs[0]["properties"] = {"dealstage": "closedwon"}
    again = hubspot_client.crm.deals.batch_api.upsert(DealUpsertBatch(inputs=inputs[:1]))
    assert again.results[0].new is False
    deal = hubspot_client.crm.deals.basic_api.get_by_id(
        "R-0", id_property="portal_referral_id", properties=["dealstage", "hs_is_closed_won"])
    assert deal.properties["dealstage"] == "closedwon"
    assert deal.properties["hs_is_closed_won"] == "true"


def test_upsert_by_a_non_unique_property_is_refused(hubspot_url, hubspot_headers):
    answer = requests.post(f"{hubspot_url}/crm/v3/objects/companies/batch/upsert", headers=hubspot_headers,
                           json={"inputs": [{"idProperty": "domain", "id": "acme.example",
                                             "properties": {"name": "Acme"}}]})
    assert answer.status_code == 400
    assert answer.json()["category"] == "VALIDATION_ERROR"
    assert "non-unique 0-2 property domain" in answer.json()["message"]


def test_duplicate_contact_email_is_a_409_naming_the_existing_id(hubspot_url, hubspot_headers):
    url = f"{hubspot_url}/crm/v3/objects/contacts"
    first = requests.post(url, json={"properties": {"email": "dup@example.com"}}, headers=hubspot_headers)
    second = requests.post(url, json={"properties": {"email": "DUP@example.com"}}, headers=hubspot_headers)
    assert first.status_code == 201
    assert second.status_code == 409
    body = second.json()
    assert body["status"] == "error" and body["category"] == "CONFLICT" and body["correlationId"]
    assert re.search(r"Existing ID: (\d+)", body["message"]).group(1) == first.json()["id"]


def test_unknown_property_is_a_validation_error_with_errors(hubspot_url, hubspot_headers):
    answer = requests.post(f"{hubspot_url}/crm/v3/objects/contacts", headers=hubspot_headers,
                           json={"properties": {"email": "x@example.com", "shoe_size": "44"}})
    assert answer.status_code == 400
    body = answer.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert body["errors"] == [{"message": 'Property "shoe_size" does not exist',
                               "code": "PROPERTY_DOESNT_EXIST",
                               "context": {"propertyName": ["shoe_size"]}}]


def test_deal_needs_name_and_a_stage_of_its_pipeline(hubspot_url, hubspot_headers):
    url = f"{hubspot_url}/crm/v3/objects/deals"
    missing = requests.post(url, json={"properties": {"dealname": "x"}}, headers=hubspot_headers)
    wrong = requests.post(url, json={"properties": {"dealname": "x", "dealstage": "nope"}},
                          headers=hubspot_headers)
    assert missing.status_code == 400 and missing.json()["errors"][0]["code"] == "REQUIRED_FIELD"
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["code"] == "INVALID_OPTION"
    good = requests.post(url, json={"properties": {"dealname": "x", "dealstage": "qualifiedtobuy"}},
                         headers=hubspot_headers)
    assert good.status_code == 201 and good.json()["properties"]["pipeline"] == "default"


def test_batch_create_with_trace_ids_reports_partial_failure_as_207(hubspot_url, hubspot_headers):
    answer = requests.post(f"{hubspot_url}/crm/v3/objects/contacts/batch/create", headers=hubspot_headers,
                           json={"inputs": [
                               {"properties": {"email": "ok@example.com"}, "objectWriteTraceId": "t1"},
                               {"properties": {"missing": "x"}, "objectWriteTraceId": "t2"}]})
    assert answer.status_code == 207
    body = answer.json()
    assert body["numErrors"] == 1 and len(body["results"]) == 1
    assert body["errors"][0]["context"]["objectWriteTraceId"] == ["t2"]


def test_batch_without_trace_ids_fails_whole_on_a_duplicate_email(hubspot_url, hubspot_headers):
    url = f"{hubspot_url}/crm/v3/objects/contacts"
    requests.post(url, json={"properties": {"email": "taken@example.com"}}, headers=hubspot_headers)
    answer = requests.post(url + "/batch/create", headers=hubspot_headers, json={"inputs": [
        {"properties": {"email": "fresh@example.com"}}, {"properties": {"email": "taken@example.com"}}]})
    assert answer.status_code == 409
    search = requests.post(url + "/search", headers=hubspot_headers, json={})
    assert search.json()["total"] == 1


def test_more_than_100_batch_inputs_is_a_validation_error(hubspot_url, hubspot_headers):
    answer = requests.post(f"{hubspot_url}/crm/v3/objects/contacts/batch/create", headers=hubspot_headers,
                           json={"inputs": [{"properties": {}}] * 101})
    assert answer.status_code == 400 and answer.json()["category"] == "VALIDATION_ERROR"


def test_both_path_styles_serve_the_same_records(hubspot_url, hubspot_headers):
    created = requests.post(f"{hubspot_url}/crm/objects/2026-03/companies", headers=hubspot_headers,
                            json={"properties": {"name": "Acme", "domain": "acme.example"}})
    assert created.status_code == 201
    legacy = requests.get(f"{hubspot_url}/crm/v3/objects/companies/{created.json()['id']}",
                          headers=hubspot_headers)
    assert legacy.json()["properties"]["domain"] == "acme.example"


def test_missing_or_wrong_token_is_401_in_hubspot_format(hubspot_url):
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        answer = requests.get(f"{hubspot_url}/crm/v3/objects/contacts", headers=headers)
        assert answer.status_code == 401
        assert answer.json()["category"] == "INVALID_AUTHENTICATION"
        assert answer.headers["x-hubspot-auth-failure"] == "401 Unauthorized"
