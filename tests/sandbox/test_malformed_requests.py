"""Every sandbox route answers malformed input the way the real APIs do: a 4xx JSON error in the
CRM's own shape, never a 500 or an HTML error page (FACTS §1.9, §2.9).

The routes come from the app's URL map, so a route added later is covered without editing this.
"""
from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

# Each body breaks the shape several routes read: wrong JSON types where lists, objects, strings
# and numbers belong (HubSpot inputs/sorts/filters/associations, Salesforce records/composite/fields).
MALFORMED = [
    None, "not json{", [], "text", {},
    {"inputs": [[None, None]], "sorts": [5], "filterGroups": [None], "records": [[1]], "compositeRequest": [1]},
    {"inputs": [None], "sorts": [{"propertyName": None, "direction": 7}], "filterGroups": [{"filters": [None]}],
     "records": [{"attributes": "x"}], "compositeRequest": [{"method": 5, "url": None}]},
    {"inputs": [{"properties": [1], "id": {"x": 1}, "associations": "x", "from": "x", "to": None, "types": "x"}],
     "filterGroups": [{"filters": [{"propertyName": 1, "operator": None, "values": "x"}]}],
     "limit": "x", "after": {}, "query": 5, "records": [{"attributes": {"type": 5}, "Id": {}}], "allOrNone": "x"},
    {"inputs": [{"from": {"id": []}, "to": [{"id": {}}], "types": [None, {"associationCategory": 5}]}],
     "sorts": "x", "records": "x", "compositeRequest": "x", "properties": "x"},
    {"compositeRequest": [{"method": "GET", "url": "/services/data/v62.0/sobjects/Lead/@{nope.id}",
                           "referenceId": "a", "httpHeaders": "x"}]},
    {"compositeRequest": [{"method": "POST", "url": "/services/data/v62.0/composite", "referenceId": "a",
                           "body": {"compositeRequest": []}}]},
    {"properties": [1], "name": None, "label": 5, "type": [], "options": "x", "groupName": {}},
    {"properties": {"email": [1], "dealstage": {}}, "LastName": {"a": 1}, "Company": [1],
     "Account": {"Nope": 1}, "Owner": "x", "AnnualRevenue": True},
    {"fail_next": "x", "subscriptions": "x", "target_url": 5, "daily": "x", "missing": 5, "access_token": 1},
    {"missing": ["Nope.Field"], "not_unique": "Lead.Nope", "duplicate_rules": "sometimes", "burst": None},
    {"sorts": [5]}, {"sorts": [{"propertyName": "createdate", "direction": "UPWARDS"}]},
]
QUERY_STRINGS = [{}, {"limit": "x", "after": "x", "properties": "x", "ids": "a,b", "fields": "x,Nope",
                      "start": "x", "end": "y", "q": "SELECT Id, (SELECT FROM", "archived": "maybe",
                      "associations": "x", "idProperty": "nope"}]
# companies → companies has no default association type: a request for one must be a 400
ARGUMENTS = {"object_type": "companies", "from_type": "companies", "to_type": "companies", "sobject": "Lead",
             "version": "v62.0", "ext_field": "Portal_Referral_Id__c", "locator": "01gnot-base64-1"}


def _routes(app) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        # reset and sessions/expire would undo the test's own setup (limits, the session)
        if not rule.rule.startswith("/sandbox/") or rule.rule.endswith(("/reset", "/sessions/expire")):
            continue
        path = rule.rule
        for argument in rule.arguments:
            path = re.sub(r"<(?:[^:>]+:)?%s>" % argument, ARGUMENTS.get(argument, "1"), path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


def _send(session, method, url, body, params):
    if body == "not json{":
        return session.request(method, url, data=body, params=params,
                               headers={"Content-Type": "application/json"}, timeout=10)
    if body is None:
        return session.request(method, url, params=params, timeout=10)
    return session.request(method, url, data=json.dumps(body), params=params,
                           headers={"Content-Type": "application/json"}, timeout=10)


def _documented_shape(path: str, answer: requests.Response) -> bool:
    body = answer.json()
    if "/_admin/" in path and isinstance(body, dict):
        return "error" in body
    if path.startswith("/sandbox/hubspot"):
        return isinstance(body, dict) and body.get("status") == "error" and "category" in body
    if path.endswith("/oauth2/token"):
        return isinstance(body, dict) and {"error", "error_description"} <= set(body)
    return isinstance(body, list) and all("errorCode" in item and "message" in item for item in body)


@pytest.mark.parametrize("crm", ["hubspot", "salesforce"])
def test_no_route_answers_malformed_input_with_a_500(crm, sandbox_app, sandbox_url, salesforce_client,
                                                    hubspot_headers):
    requests.post(f"{sandbox_url}/sandbox/hubspot/_admin/limits",
                  json={"burst": 1_000_000, "search_per_second": 1_000_000}, timeout=10).raise_for_status()
    with requests.Session() as session:
        token = session.post(f"{sandbox_url}/sandbox/salesforce/services/oauth2/token",
                             data=dict(salesforce_client, grant_type="refresh_token"), timeout=10).json()
        session.headers["Authorization"] = ("Bearer " + token["access_token"] if crm == "salesforce"
                                            else hubspot_headers["Authorization"])
        cases = [(method, path, body, params) for method, path in _routes(sandbox_app)
                 if path.startswith(f"/sandbox/{crm}")
                 for body, params in ([(b, {}) for b in MALFORMED] if method in ("POST", "PUT", "PATCH")
                                      else [(None, q) for q in QUERY_STRINGS])]

        def check(case) -> str | None:
            method, path, body, params = case
            answer = _send(session, method, sandbox_url + path, body, params)
            if answer.status_code >= 500:
                return f"{method} {path} {json.dumps(body)[:60]} → {answer.status_code}"
            if "/ui/" in path or path.endswith("/view") or "/record/" in path or answer.status_code < 400:
                return None
            if not answer.headers.get("Content-Type", "").startswith("application/json") or \
                    not _documented_shape(path, answer):
                return (f"{method} {path} {json.dumps(body)[:60]} → {answer.status_code} "
                        f"{answer.headers.get('Content-Type')}: {answer.text[:80]}")
            return None

        with ThreadPoolExecutor(max_workers=4) as pool:
            problems = [p for p in pool.map(check, cases) if p]
    assert len(cases) > 200
    assert problems == []
