"""HubSpot sandbox contract: CRM search through the SDK, and its limits."""
from __future__ import annotations

import pytest
import requests
from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInputForCreate, PublicObjectSearchRequest


@pytest.fixture
def contacts(hubspot_client):
    """25 contacts: c00..c24, age = index, even ones with a company name."""
    inputs = [{"properties": dict({"email": f"c{i:02d}@example.com", "firstname": f"Name{i:02d}",
                                   "lifecyclestage": "lead" if i < 10 else "customer"},
                                  **({"company": f"Acme Corp {i}"} if i % 2 == 0 else {}))}
              for i in range(25)]
    answer = hubspot_client.crm.contacts.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs))
    return sorted(answer.results, key=lambda r: int(r.id))


def _search(client, **request):
    return client.crm.contacts.search_api.do_search(PublicObjectSearchRequest(**request))


def test_search_pages_with_after_until_no_paging(hubspot_client, contacts):
    seen, after = [], None
    while True:
        page = _search(hubspot_client, limit=10, after=after,
                       sorts=[{"propertyName": "email", "direction": "ASCENDING"}],
                       properties=["email"])
        assert page.total == 25
        seen += [r.properties["email"] for r in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert seen == [f"c{i:02d}@example.com" for i in range(25)]


@pytest.mark.parametrize("flt, expected", [
    ({"operator": "EQ", "propertyName": "email", "value": "C03@EXAMPLE.COM"}, [3]),
    ({"operator": "NEQ", "propertyName": "lifecyclestage", "value": "customer"}, list(range(10))),
    ({"operator": "IN", "propertyName": "email", "values": ["c01@example.com", "c02@example.com"]}, [1, 2]),
    ({"operator": "HAS_PROPERTY", "propertyName": "company"}, list(range(0, 25, 2))),
    ({"operator": "NOT_HAS_PROPERTY", "propertyName": "company"}, list(range(1, 25, 2))),
    ({"operator": "CONTAINS_TOKEN", "propertyName": "company", "value": "acme corp 1*"}, [10, 12, 14, 16, 18]),
    ({"operator": "CONTAINS_TOKEN", "propertyName": "company", "value": "CORP"}, list(range(0, 25, 2))),
    ({"operator": "CONTAINS_TOKEN", "propertyName": "email", "value": "*@example.com"}, list(range(25))),
    ({"operator": "GT", "propertyName": "firstname", "value": "name22"}, [23, 24]),
    ({"operator": "LTE", "propertyName": "firstname", "value": "name01"}, [0, 1]),
])
def test_search_operators(hubspot_client, contacts, flt, expected):
    page = _search(hubspot_client, filter_groups=[{"filters": [flt]}], limit=100)
    assert sorted(int(r.properties["email"][1:3]) for r in page.results) == expected
    assert page.total == len(expected)


def test_search_by_modification_date_with_gt_gte_lt(hubspot_client, contacts):
    stamp = contacts[0].updated_at
    millis = str(int(stamp.timestamp() * 1000))
    gte = _search(hubspot_client, filter_groups=[{"filters": [
        {"propertyName": "lastmodifieddate", "operator": "GTE", "value": millis}]}], limit=1)
    lt = _search(hubspot_client, filter_groups=[{"filters": [
        {"propertyName": "hs_lastmodifieddate", "operator": "LT", "value": millis}]}], limit=1)
    assert gte.total == 25 and lt.total == 0


def test_filter_groups_are_ored_and_filters_anded(hubspot_client, contacts):
    page = _search(hubspot_client, limit=100, filter_groups=[
        {"filters": [{"propertyName": "email", "operator": "EQ", "value": "c01@example.com"}]},
        {"filters": [{"propertyName": "lifecyclestage", "operator": "EQ", "value": "customer"},
                     {"propertyName": "company", "operator": "HAS_PROPERTY"}]}])
    assert page.total == 1 + len(range(10, 25, 2))


def test_search_sorts_descending_and_accepts_the_string_form(hubspot_url, hubspot_headers, contacts):
    answer = requests.post(f"{hubspot_url}/crm/v3/objects/contacts/search", headers=hubspot_headers,
                           json={"sorts": ["-email"], "limit": 2, "properties": ["email"]})
    assert [r["properties"]["email"] for r in answer.json()["results"]] == [
        "c24@example.com", "c23@example.com"]
    assert "X-HubSpot-RateLimit-Max" not in answer.headers


def test_search_limit_and_result_cap_are_validation_errors(hubspot_url, hubspot_headers):
    url = f"{hubspot_url}/crm/v3/objects/contacts/search"
    too_big = requests.post(url, headers=hubspot_headers, json={"limit": 201})
    beyond = requests.post(url, headers=hubspot_headers, json={"limit": 100, "after": "10000"})
    assert too_big.status_code == 400 and beyond.status_code == 400
    assert beyond.json()["category"] == "VALIDATION_ERROR"


def test_search_has_its_own_per_second_limit(hubspot_url, hubspot_headers):
    requests.post(f"{hubspot_url}/_admin/limits", json={"search_per_second": 3})
    statuses = [requests.post(f"{hubspot_url}/crm/v3/objects/deals/search", headers=hubspot_headers,
                              json={}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    # The ten-secondly bucket is separate: ordinary calls still pass.
    assert requests.get(f"{hubspot_url}/crm/v3/objects/deals", headers=hubspot_headers).status_code == 200
