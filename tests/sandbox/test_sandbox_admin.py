"""Fault injection, counters, limits and reset through the admin JSON API; mounting; scale."""
from __future__ import annotations

import time

import requests
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client
from werkzeug.wrappers import Response

import crm_sandbox

API = "/services/data/v62.0"


def test_fail_next_n_requests_then_recover(hubspot_url, hubspot_headers):
    snapshot = requests.post(f"{hubspot_url}/_admin/faults", json={"fail_next": 2, "status": 503}).json()
    assert snapshot["fail_next"] == 2
    url = f"{hubspot_url}/crm/v3/objects/contacts"
    statuses = [requests.get(url, headers=hubspot_headers).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    # Faults never touch the admin API or the pages.
    requests.post(f"{hubspot_url}/_admin/faults", json={"fail_next": 5})
    assert requests.get(f"{hubspot_url}/_admin/stats").status_code == 200
    assert requests.get(f"{hubspot_url}/ui/deals").status_code == 200


def test_salesforce_faults_use_its_error_shapes(salesforce_session, salesforce_url):
    requests.post(f"{salesforce_url}/_admin/faults", json={"fail_next": 1, "status": 400})
    locked = salesforce_session.get(f"{API}/sobjects")
    assert locked.status_code == 400 and locked.json()[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    requests.post(f"{salesforce_url}/_admin/faults", json={"force_429_seconds": 5})
    throttled = salesforce_session.get(f"{API}/sobjects")
    assert throttled.status_code == 403 and throttled.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    requests.delete(f"{salesforce_url}/_admin/faults")
    assert salesforce_session.get(f"{API}/sobjects").status_code == 200


def test_forced_429_latency_and_ratio(hubspot_url, hubspot_headers, advance_sandbox_clock):
    url = f"{hubspot_url}/crm/v3/objects/deals"
    requests.post(f"{hubspot_url}/_admin/faults", json={"force_429_seconds": 0.3, "latency_ms": 50})
    started = time.perf_counter()
    throttled = requests.get(url, headers=hubspot_headers)
    assert time.perf_counter() - started >= 0.05
    assert throttled.status_code == 429 and throttled.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    advance_sandbox_clock(1)  # past the forced 0.3 s of throttling
    assert requests.get(url, headers=hubspot_headers).status_code == 200
    requests.post(f"{hubspot_url}/_admin/faults", json={"latency_ms": 0, "fail_ratio": 1.0, "status": 502})
    assert requests.get(url, headers=hubspot_headers).status_code == 502
    bad = requests.post(f"{hubspot_url}/_admin/faults", json={"fail_ratio": 2})
    assert bad.status_code == 400 and "fail_ratio" in bad.json()["error"]


def test_stats_count_calls_by_endpoint(hubspot_url, hubspot_headers, salesforce_session, salesforce_url):
    for _ in range(3):
        requests.post(f"{hubspot_url}/crm/v3/objects/contacts/batch/upsert", headers=hubspot_headers,
                      json={"inputs": [{"idProperty": "email", "id": "a@example.com", "properties": {}}]})
    requests.post(f"{hubspot_url}/crm/objects/2026-03/deals/search", headers=hubspot_headers, json={})
    stats = requests.get(f"{hubspot_url}/_admin/stats").json()
    assert stats["endpoints"] == {"POST /crm/v3/objects/contacts/batch/upsert": 3,
                                  "POST /crm/objects/2026-03/deals/search": 1}
    assert stats["total"] == 4 and stats["statuses"] == {"200": 4}
    salesforce_session.get(f"{API}/sobjects/Lead/describe")
    sf_stats = requests.get(f"{salesforce_url}/_admin/stats").json()["endpoints"]
    assert sf_stats["GET /services/data/v62.0/sobjects/Lead/describe"] == 1
    assert sf_stats["POST /services/oauth2/token"] == 1


def test_reset_wipes_records_and_restores_limits(hubspot_url, hubspot_headers):
    requests.post(f"{hubspot_url}/crm/v3/objects/contacts", headers=hubspot_headers,
                  json={"properties": {"email": "r@example.com"}})
    requests.post(f"{hubspot_url}/_admin/limits", json={"burst": 7})
    requests.post(f"{hubspot_url}/_admin/reset").raise_for_status()
    assert requests.get(f"{hubspot_url}/_admin/limits").json()["burst"] == 100
    listed = requests.get(f"{hubspot_url}/crm/v3/objects/contacts", headers=hubspot_headers).json()
    assert listed["results"] == []


def test_admin_endpoints_can_be_left_unmounted(sandbox_config):
    app = crm_sandbox.create_app(dict(sandbox_config, SANDBOX_ADMIN=False))
    assert app.test_client().post("/sandbox/hubspot/_admin/reset").status_code == 404
    app.extensions["crm_sandbox"].store.dispose()


def test_served_the_same_when_mounted_under_sandbox_by_dispatcher_middleware(sandbox_app):
    portal = Response("portal")
    for mounts in ({"/sandbox": sandbox_app}, {}):
        root = sandbox_app if not mounts else portal
        client = Client(DispatcherMiddleware(root, mounts))
        answer = client.get("/sandbox/hubspot/crm/v3/objects/contacts")
        assert answer.status_code == 401  # reached the sandbox's gate, not a 404
        token = client.post("/sandbox/salesforce/services/oauth2/token", data={
            "grant_type": "refresh_token", "client_id": sandbox_app.config["SANDBOX_SALESFORCE_CLIENT_ID"],
            "client_secret": sandbox_app.config["SANDBOX_SALESFORCE_CLIENT_SECRET"],
            "refresh_token": sandbox_app.config["SANDBOX_SALESFORCE_REFRESH_TOKEN"]})
        assert token.json["instance_url"] == "http://localhost/sandbox/salesforce"


def test_ten_thousand_deals_upsert_and_search_correctly(hubspot_url, hubspot_headers):
    requests.post(f"{hubspot_url}/_admin/limits", json={"burst": 10_000, "search_per_second": 100})
    requests.post(f"{hubspot_url}/crm/v3/properties/deals", headers=hubspot_headers, json={
        "name": "portal_referral_id", "label": "Portal referral ID", "type": "string", "fieldType": "text",
        "groupName": "dealinformation", "hasUniqueValue": True})
    with requests.Session() as http:
        for batch in range(100):
            inputs = [{"idProperty": "portal_referral_id", "id": f"R-{batch * 100 + i}",
                       "properties": {"dealname": f"Deal {batch * 100 + i}", "amount": str(i),
                                      "dealstage": "appointmentscheduled"}} for i in range(100)]
            answer = http.post(f"{hubspot_url}/crm/v3/objects/deals/batch/upsert", headers=hubspot_headers,
                               json={"inputs": inputs})
            assert answer.status_code == 200
        found = http.post(f"{hubspot_url}/crm/v3/objects/deals/search", headers=hubspot_headers, json={
            "filterGroups": [{"filters": [{"propertyName": "portal_referral_id", "operator": "EQ", "value": "R-9876"}]}],
            "properties": ["dealname"]}).json()
        page = http.post(f"{hubspot_url}/crm/v3/objects/deals/search", headers=hubspot_headers, json={
            "filterGroups": [{"filters": [{"propertyName": "amount", "operator": "GTE", "value": "99"}]}],
            "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}], "limit": 200}).json()
    assert found["total"] == 1 and found["results"][0]["properties"]["dealname"] == "Deal 9876"
    assert page["total"] == 100
    # How fast this is depends on the machine: bench/sandbox_speed.py prints it.


def test_concurrent_writers_from_threads_and_a_second_process_share_the_store(
        hubspot_url, hubspot_headers, sandbox_config):
    from concurrent.futures import ThreadPoolExecutor

    requests.post(f"{hubspot_url}/_admin/limits", json={"burst": 10_000})

    def upsert(worker: int) -> int:
        inputs = [{"idProperty": "email", "id": f"w{worker}-{i}@example.com", "properties": {"firstname": "W"}}
                  for i in range(50)]
        return requests.post(f"{hubspot_url}/crm/v3/objects/contacts/batch/upsert", headers=hubspot_headers,
                             json={"inputs": inputs}, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(upsert, range(16))) == [200] * 16
    # Another app on the same database (as a separate process would be) sees every record.
    other = crm_sandbox.create_app(sandbox_config)
    answer = other.test_client().post("/sandbox/hubspot/crm/v3/objects/contacts/search", json={"limit": 1},
                                      headers=hubspot_headers)
    other.extensions["crm_sandbox"].store.dispose()
    assert answer.json["total"] == 16 * 50
