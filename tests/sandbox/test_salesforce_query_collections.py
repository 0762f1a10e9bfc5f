"""Salesforce sandbox contract: SOQL query paging, sObject Collections, JWT bearer flow."""
from __future__ import annotations

import base64
import json
import threading
import time

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from werkzeug.serving import make_server

import crm_sandbox

API = "/services/data/v62.0"


def _leads(session, count: int, **extra):
    records = [dict({"attributes": {"type": "Lead"}, "LastName": f"Lead{i:03d}", "Company": f"Co{i % 3}",
                     "Portal_Referral_Id__c": f"R-{i:03d}", "NumberOfEmployees": i}, **extra) for i in range(count)]
    answer = session.post(f"{API}/composite/sobjects", json={"allOrNone": False, "records": records})
    assert answer.status_code == 200
    return answer.json()


def test_collection_create_returns_one_result_per_record_in_order(salesforce_session):
    results = _leads(salesforce_session, 3)
    assert [r["success"] for r in results] == [True] * 3
    assert all(r["id"].startswith("00Q") and r["errors"] == [] for r in results)


def test_collection_reports_per_record_errors_with_status_code(salesforce_session):
    answer = salesforce_session.post(f"{API}/composite/sobjects", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Lead"}, "LastName": "Ok", "Company": "A"},
        {"attributes": {"type": "Lead"}, "Company": "No last name"}]})
    ok, bad = answer.json()
    assert ok["success"] is True
    assert bad == {"success": False, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING",
                                                 "message": "Required fields are missing: [LastName]",
                                                 "fields": ["LastName"]}]}


def test_all_or_none_rolls_back_every_record(salesforce_session):
    answer = salesforce_session.post(f"{API}/composite/sobjects", json={"allOrNone": True, "records": [
        {"attributes": {"type": "Account"}, "Name": "Fine"}, {"attributes": {"type": "Account"}}]})
    fine, bad = answer.json()
    assert fine["success"] is False and fine["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert bad["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert salesforce_session.get(f"{API}/query", params={"q": "SELECT COUNT() FROM Account"}).json()["totalSize"] == 0


def test_collection_upsert_by_external_id_and_the_200_record_cap(salesforce_session):
    url = f"{API}/composite/sobjects/Opportunity/Portal_Referral_Id__c"
    record = {"attributes": {"type": "Opportunity"}, "Portal_Referral_Id__c": "R-1", "Name": "Deal",
              "StageName": "Prospecting", "CloseDate": "2026-12-31"}
    first = salesforce_session.patch(url, json={"allOrNone": False, "records": [record]}).json()
    second = salesforce_session.patch(url, json={"records": [dict(record, StageName="Closed Won")]}).json()
    assert first[0]["created"] is True and second[0]["created"] is False and first[0]["id"] == second[0]["id"]
    too_many = salesforce_session.post(f"{API}/composite/sobjects",
                                       json={"records": [{"attributes": {"type": "Lead"}}] * 201})
    assert too_many.status_code == 400 and too_many.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_collection_update_retrieve_and_delete(salesforce_session):
    ids = [r["id"] for r in _leads(salesforce_session, 2)]
    updated = salesforce_session.patch(f"{API}/composite/sobjects", json={"records": [
        {"attributes": {"type": "Lead"}, "Id": ids[0], "Status": "Working - Contacted"}]}).json()
    assert updated[0]["success"] is True
    got = salesforce_session.get(f"{API}/composite/sobjects/Lead", params={
        "ids": ",".join(ids), "fields": "Id,Status"}).json()
    assert [g["Status"] for g in got] == ["Working - Contacted", "Open - Not Contacted"]
    deleted = salesforce_session.delete(f"{API}/composite/sobjects", params={"ids": ids[0]}).json()
    assert deleted == [{"id": ids[0], "success": True, "errors": []}]


def test_query_with_where_order_limit(salesforce_session):
    _leads(salesforce_session, 12)
    soql = ("SELECT Id, LastName, NumberOfEmployees FROM Lead WHERE (Company = 'co1' OR Company = 'Co2') "
            "AND NumberOfEmployees >= 4 AND LastName LIKE 'Lead%' AND Status != 'Closed - Converted' "
            "ORDER BY NumberOfEmployees DESC LIMIT 3")
    body = salesforce_session.get(f"{API}/query", params={"q": soql}).json()
    assert body["done"] is True and body["totalSize"] == 3
    assert [r["NumberOfEmployees"] for r in body["records"]] == [11, 10, 8]
    assert set(body["records"][0]) == {"attributes", "Id", "LastName", "NumberOfEmployees"}
    in_list = salesforce_session.get(f"{API}/query", params={
        "q": "SELECT Id FROM Lead WHERE Portal_Referral_Id__c IN ('R-001', 'R-002') AND NumberOfEmployees < 2"}).json()
    assert in_list["totalSize"] == 1


def test_query_pages_with_next_records_url(salesforce_session):
    for _ in range(3):
        offset = salesforce_session.get(f"{API}/query", params={"q": "SELECT COUNT() FROM Lead"}).json()["totalSize"]
        _leads(salesforce_session, 150) if offset == 0 else salesforce_session.post(
            f"{API}/composite/sobjects", json={"records": [
                {"attributes": {"type": "Lead"}, "LastName": f"More{offset + i}", "Company": "M"} for i in range(150)]})
    headers = {"Sforce-Query-Options": "batchSize=200"}
    page = salesforce_session.get(f"{API}/query", params={"q": "SELECT Id FROM Lead ORDER BY LastName"},
                                  headers=headers).json()
    seen = [r["Id"] for r in page["records"]]
    assert page["totalSize"] == 450 and page["done"] is False
    while not page["done"]:
        page = salesforce_session.get(page["nextRecordsUrl"]).json()
        seen += [r["Id"] for r in page["records"]]
    assert len(seen) == len(set(seen)) == 450


def test_query_by_system_modstamp(salesforce_session):
    _leads(salesforce_session, 2)
    past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    recent = salesforce_session.get(f"{API}/query", params={
        "q": f"SELECT Id, SystemModstamp FROM Lead WHERE SystemModstamp > {past} ORDER BY SystemModstamp"}).json()
    none = salesforce_session.get(f"{API}/query", params={
        "q": f"SELECT Id FROM Lead WHERE SystemModstamp > {future}"}).json()
    assert recent["totalSize"] == 2 and none["totalSize"] == 0


@pytest.mark.parametrize("soql, code", [
    ("SELECT Id FROM", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY"),
    ("SELECT Nope FROM Lead", "INVALID_FIELD"),
    ("SELECT Id FROM Widget", "INVALID_TYPE"),
])
def test_bad_soql_is_an_error_array(salesforce_session, soql, code):
    answer = salesforce_session.get(f"{API}/query", params={"q": soql})
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == code


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_jwt_bearer_flow_verifies_the_assertion(sandbox_config, salesforce_url):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    app = crm_sandbox.create_app(dict(sandbox_config, SANDBOX_SALESFORCE_JWT_CERTIFICATE=public_pem))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}/sandbox/salesforce"

        def assertion(**claims):
            header = _b64(json.dumps({"alg": "RS256"}).encode())
            payload = _b64(json.dumps(dict({"iss": sandbox_config["SANDBOX_SALESFORCE_CLIENT_ID"],
                                            "sub": "integration@portal.example",
                                            "aud": "https://login.salesforce.com",
                                            "exp": int(time.time()) + 120}, **claims)).encode())
            signature = key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
            return f"{header}.{payload}.{_b64(signature)}"

        def token(jwt):
            return requests.post(f"{base}/services/oauth2/token", data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": jwt})

        good = token(assertion())
        assert good.status_code == 200 and good.json()["instance_url"] == base
        assert "refresh_token" not in good.json()
        api = requests.get(f"{base}{API}/sobjects",
                           headers={"Authorization": f"Bearer {good.json()['access_token']}"})
        assert api.status_code == 200
        assert token(assertion(exp=int(time.time()) - 5)).json()["error"] == "invalid_grant"
        assert token(assertion(iss="someone-else")).json()["error"] == "invalid_client_id"
        tampered = assertion()[:-4] + "AAAA"
        assert token(tampered).json()["error"] == "invalid_grant"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        app.extensions["crm_sandbox"].store.dispose()
