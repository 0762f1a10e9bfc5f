"""Record pages drive the same code as the API: lead conversion, deal stage moves and webhooks."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

API = "/services/data/v62.0"


def test_converting_a_lead_on_its_page_creates_account_contact_and_opportunity(salesforce_session, salesforce_url):
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    lead_id = salesforce_session.post(f"{API}/sobjects/Lead", json={
        "FirstName": "Grace", "LastName": "Hopper", "Company": "Navy Labs", "Email": "grace@navy.example",
        "Portal_Referral_Id__c": "R-42", "Sync_with_Portal__c": True}).json()["id"]

    page = requests.get(f"{salesforce_url}/ui/Lead/{lead_id}")
    assert page.status_code == 200 and "Convert" in page.text and 'method="post"' in page.text
    answer = requests.post(f"{salesforce_url}/ui/Lead/{lead_id}/convert", data={"create_opportunity": "1"},
                           allow_redirects=False)
    assert answer.status_code == 303

    soql = ("SELECT Id, IsConverted, Status, ConvertedDate, ConvertedAccountId, ConvertedContactId, "
            f"ConvertedOpportunityId FROM Lead WHERE Id = '{lead_id}'")
    lead = salesforce_session.get(f"{API}/query", params={"q": soql}).json()["records"][0]
    assert lead["IsConverted"] is True and lead["Status"] == "Closed - Converted" and lead["ConvertedDate"]
    account = salesforce_session.get(f"{API}/sobjects/Account/{lead['ConvertedAccountId']}").json()
    contact = salesforce_session.get(f"{API}/sobjects/Contact/{lead['ConvertedContactId']}").json()
    opportunity = salesforce_session.get(f"{API}/sobjects/Opportunity/{lead['ConvertedOpportunityId']}").json()
    assert account["Name"] == "Navy Labs"
    assert (contact["LastName"], contact["Email"], contact["AccountId"]) == ("Hopper", "grace@navy.example", account["Id"])
    assert opportunity["AccountId"] == account["Id"] and opportunity["StageName"] == "Prospecting"
    assert opportunity["Portal_Referral_Id__c"] == "R-42"

    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
    for sobject, record_id in (("Lead", lead_id), ("Opportunity", opportunity["Id"]), ("Account", account["Id"])):
        updated = salesforce_session.get(f"{API}/sobjects/{sobject}/updated/", params={"start": start, "end": end})
        assert record_id in updated.json()["ids"]
    again = requests.post(f"{salesforce_url}/ui/Lead/{lead_id}/convert", data={})
    assert again.status_code == 422


def test_opportunity_stage_and_lead_status_change_on_the_page(salesforce_session, salesforce_url,
                                                             advance_sandbox_clock):
    opportunity_id = salesforce_session.post(f"{API}/sobjects/Opportunity", json={
        "Name": "Deal", "StageName": "Prospecting", "CloseDate": "2026-12-31"}).json()["id"]
    before = salesforce_session.get(f"{API}/sobjects/Opportunity/{opportunity_id}").json()["SystemModstamp"]
    advance_sandbox_clock(1)
    requests.post(f"{salesforce_url}/ui/Opportunity/{opportunity_id}", data={"StageName": "Closed Won"})
    after = salesforce_session.get(f"{API}/sobjects/Opportunity/{opportunity_id}").json()
    assert after["IsWon"] is True and after["SystemModstamp"] > before
    bad = requests.post(f"{salesforce_url}/ui/Opportunity/{opportunity_id}", data={"Name": ""})
    assert bad.status_code == 422 and "REQUIRED_FIELD_MISSING" in bad.text


def test_view_in_crm_links_reach_the_record_pages(hubspot_url, hubspot_headers, salesforce_session, salesforce_url):
    deal = requests.post(f"{hubspot_url}/crm/v3/objects/deals", headers=hubspot_headers, json={
        "properties": {"dealname": "Linked", "dealstage": "qualifiedtobuy"}}).json()
    assert requests.get(deal["url"]).status_code == 200
    assert "Linked" in requests.get(f"{hubspot_url}/contacts/12345678/record/0-3/{deal['id']}").text
    lead_id = salesforce_session.post(f"{API}/sobjects/Lead", json={"LastName": "Link", "Company": "L"}).json()["id"]
    assert requests.get(f"{salesforce_url}/ui/Lead/{lead_id}").status_code == 200
    assert "Link" in requests.get(f"{salesforce_url}/lightning/r/Lead/{lead_id}/view").text
    for path in ("/ui/Lead", "/ui/Account", "/ui/Contact", "/ui/Opportunity"):
        assert requests.get(salesforce_url + path).status_code == 200
    for path in ("/ui/contacts", "/ui/companies", "/ui/deals"):
        assert requests.get(hubspot_url + path).status_code == 200


class _Receiver(BaseHTTPRequestHandler):
    received: queue.Queue

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.put((self.path, dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook_target():
    received: queue.Queue = queue.Queue()
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hubspot/webhooks?source=sandbox", received
    server.shutdown()
    thread.join(timeout=5)


def _valid_v3(secret: str, uri: str, body: bytes, headers: dict) -> bool:
    timestamp = headers["X-HubSpot-Request-Timestamp"]
    if abs(time.time() * 1000 - int(timestamp)) > 300_000:
        return False
    message = ("POST" + uri + body.decode() + timestamp).encode()
    expected = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, headers["X-HubSpot-Signature-v3"])


def test_moving_a_deal_stage_on_the_page_sends_a_signed_webhook(hubspot_url, hubspot_headers, webhook_target):
    target, received = webhook_target
    secret = "test-app-secret"
    requests.post(f"{hubspot_url}/_admin/webhook", json={"target_url": target, "client_secret": secret}).raise_for_status()
    deal = requests.post(f"{hubspot_url}/crm/v3/objects/deals", headers=hubspot_headers, json={
        "properties": {"dealname": "Hooked", "dealstage": "appointmentscheduled"}}).json()
    _, _, created_body = received.get(timeout=5)
    assert {e["subscriptionType"] for e in json.loads(created_body)} >= {"deal.creation"}

    answer = requests.post(f"{hubspot_url}/ui/deals/{deal['id']}", data={"dealstage": "closedwon"},
                           allow_redirects=False)
    assert answer.status_code == 303
    path, headers, body = received.get(timeout=5)
    assert path == "/hubspot/webhooks?source=sandbox"
    assert _valid_v3(secret, target, body, headers)
    assert headers["X-HubSpot-Signature"] == hashlib.sha256(secret.encode() + body).hexdigest()
    events = json.loads(body)
    assert events == [{
        "eventId": events[0]["eventId"], "subscriptionId": events[0]["subscriptionId"], "portalId": 12345678,
        "appId": 4242, "occurredAt": events[0]["occurredAt"], "subscriptionType": "deal.propertyChange",
        "attemptNumber": 0, "objectId": int(deal["id"]), "changeSource": "CRM_UI", "changeFlag": "UPDATED",
        "sourceId": "sandbox:crm_ui", "propertyName": "dealstage", "propertyValue": "closedwon"}]
    assert not _valid_v3("another-secret", target, body, headers)
