"""HubSpot sandbox contract: associations v4, properties, pipelines, rate limits."""
from __future__ import annotations

import requests
from hubspot.crm.associations.v4 import BatchInputPublicAssociationMultiPost, BatchInputPublicDefaultAssociationMultiPost
from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyInput
from hubspot.crm.contacts import SimplePublicObjectInputForCreate as ContactInput
from hubspot.crm.deals import SimplePublicObjectInputForCreate as DealInput
from hubspot.crm.properties import PropertyCreate


def _scene(client):
    company = client.crm.companies.basic_api.create(CompanyInput(properties={"name": "Acme"}))
    contact = client.crm.contacts.basic_api.create(ContactInput(properties={"email": "a@acme.example"}))
    deal = client.crm.deals.basic_api.create(DealInput(
        properties={"dealname": "Acme deal", "dealstage": "appointmentscheduled"},
        associations=[{"to": {"id": contact.id},
                       "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]}]))
    return company, contact, deal


def test_associations_batch_create_and_list(hubspot_client):
    company, contact, deal = _scene(hubspot_client)
    v4 = hubspot_client.crm.associations.v4
    created = v4.batch_api.create("contact", "company", BatchInputPublicAssociationMultiPost(inputs=[
        {"from": {"id": contact.id}, "to": {"id": company.id},
         "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}]}]))
    assert created.results[0].labels == ["Primary"]
    page = v4.basic_api.get_page("contacts", contact.id, "companies")
    assert page.results[0].to_object_id == company.id
    assert sorted(t.type_id for t in page.results[0].association_types) == [1, 279]
    # Associations are two-way: the company sees its contact with the inverse types.
    back = v4.basic_api.get_page("company", company.id, "contact")
    assert sorted(t.type_id for t in back.results[0].association_types) == [2, 280]

    defaults = v4.batch_api.create_default("deal", "company", BatchInputPublicDefaultAssociationMultiPost(
        inputs=[{"from": {"id": deal.id}, "to": {"id": company.id}}]))
    assert defaults.results[0].association_spec.association_type_id == 341

    read = hubspot_client.crm.deals.basic_api.get_by_id(deal.id, associations=["contacts", "companies"])
    assert read.associations["contacts"].results[0].id == contact.id
    assert read.associations["companies"].results[0].type == "deal_to_company_unlabeled"


def test_single_default_association_and_removal(hubspot_client):
    company, contact, _ = _scene(hubspot_client)
    v4 = hubspot_client.crm.associations.v4
    v4.basic_api.create_default("contacts", contact.id, "companies", company.id)
    assert len(v4.basic_api.get_page("contacts", contact.id, "companies").results) == 1
    v4.basic_api.archive("contacts", contact.id, "companies", company.id)
    assert v4.basic_api.get_page("contacts", contact.id, "companies").results == []


def test_association_to_a_missing_record_is_a_validation_error(hubspot_url, hubspot_headers):
    contact = requests.post(f"{hubspot_url}/crm/v3/objects/contacts", headers=hubspot_headers,
                            json={"properties": {"email": "x@example.com"}}).json()
    answer = requests.post(f"{hubspot_url}/crm/v4/associations/contacts/companies/batch/create",
                           headers=hubspot_headers, json={"inputs": [{
                               "from": {"id": contact["id"]}, "to": {"id": "999999"},
                               "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]}]})
    assert answer.status_code == 400 and answer.json()["category"] == "VALIDATION_ERROR"


def test_properties_list_and_custom_unique_property(hubspot_client, hubspot_url, hubspot_headers):
    names = {p.name for p in hubspot_client.crm.properties.core_api.get_all("contacts").results}
    assert {"email", "firstname", "lastname", "createdate", "hs_object_id"} <= names
    hubspot_client.crm.properties.core_api.create("companies", PropertyCreate(
        name="portal_company_id", label="Portal company ID", type="string", field_type="text",
        group_name="companyinformation", has_unique_value=True))
    prop = hubspot_client.crm.properties.core_api.get_by_name("companies", "portal_company_id")
    assert prop.has_unique_value is True and prop.hubspot_defined is False

    url = f"{hubspot_url}/crm/v3/objects/companies"
    first = requests.post(url, headers=hubspot_headers, json={"properties": {"name": "A", "portal_company_id": "P1"}})
    second = requests.post(url, headers=hubspot_headers, json={"properties": {"name": "B", "portal_company_id": "P1"}})
    assert first.status_code == 201 and second.status_code == 409
    duplicate = requests.post(f"{hubspot_url}/crm/v3/properties/companies", headers=hubspot_headers, json={
        "name": "portal_company_id", "label": "x", "type": "string", "fieldType": "text",
        "groupName": "companyinformation"})
    assert duplicate.status_code == 409


def test_deal_pipelines_have_the_default_stages(hubspot_client):
    pipelines = hubspot_client.crm.pipelines.pipelines_api.get_all("deals").results
    default = next(p for p in pipelines if p.id == "default")
    stages = {s.id: s.metadata for s in default.stages}
    assert list(stages) == ["appointmentscheduled", "qualifiedtobuy", "presentationscheduled",
                            "decisionmakerboughtin", "contractsent", "closedwon", "closedlost"]
    assert stages["closedwon"] == {"isClosed": "true", "probability": "1.0"}
    assert stages["closedlost"]["probability"] == "0.0"


def test_rate_limit_headers_count_down_and_the_101st_call_is_429(hubspot_url, hubspot_headers):
    url = f"{hubspot_url}/crm/v3/objects/contacts"
    with requests.Session() as http:
        answers = [http.get(url, headers=hubspot_headers) for _ in range(101)]
    assert [a.status_code for a in answers[:100]] == [200] * 100
    first, last, over = answers[0], answers[99], answers[100]
    assert first.headers["X-HubSpot-RateLimit-Max"] == "100"
    assert first.headers["X-HubSpot-RateLimit-Remaining"] == "99"
    assert first.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert int(first.headers["X-HubSpot-RateLimit-Daily-Remaining"]) > 0
    assert last.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert over.status_code == 429
    assert over.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert over.json()["errorType"] == "RATE_LIMIT"
    assert over.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert over.headers["X-HubSpot-RateLimit-Max"] == "100"


def test_burst_limit_is_configurable(hubspot_url, hubspot_headers):
    requests.post(f"{hubspot_url}/_admin/limits", json={"burst": 2})
    url = f"{hubspot_url}/crm/v3/objects/deals"
    assert [requests.get(url, headers=hubspot_headers).status_code for _ in range(3)] == [200, 200, 429]
