"""Webhooks: a delivery (signature and timestamp) is accepted once, and failed signatures are
rate-limited per address (issue #15 items 2 and 5)."""
from __future__ import annotations

import json
import time

from portal.sync.connectors.hubspot import webhooks as hubspot
from tests.crm_fixtures import WEBHOOK_SECRET


def _signed(payload: bytes) -> dict:
    stamp = str(int(time.time() * 1000))
    return {"X-HubSpot-Signature-v3": hubspot.signature_v3(WEBHOOK_SECRET, "POST", "http://localhost/webhooks/hubspot",
                                                           payload, stamp),
            "X-HubSpot-Request-Timestamp": stamp}


def test_the_same_webhook_delivered_twice_is_one_pull(client, db, connection, redis_conn):
    payload = json.dumps([{"objectId": 1, "subscriptionType": "deal.propertyChange"}]).encode()
    headers = _signed(payload)
    first = client.post("/webhooks/hubspot", data=payload, content_type="application/json", headers=headers)
    assert first.status_code == 200 and first.json["pulls"] == 1
    redis_conn.flushdb()  # the pull job is queued; a second one must not be
    again = client.post("/webhooks/hubspot", data=payload, content_type="application/json", headers=headers)
    assert again.status_code == 200 and again.json["pulls"] == 0
    assert redis_conn.keys("rq:job:crm-pull*") == []


def test_failed_signatures_are_rate_limited_and_valid_deliveries_are_not_counted(app, client, db, connection,
                                                                                   redis_conn, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_FAILURE_RATE_LIMIT", "3 per minute")
    payload = b"[]"
    for n in range(5):
        ok = client.post("/webhooks/hubspot", data=payload + b" " * n, content_type="application/json",
                         headers=_signed(payload + b" " * n))
        assert ok.status_code == 200
    bad = {"X-HubSpot-Signature-v3": "bm90IGEgc2lnbmF0dXJl", "X-HubSpot-Request-Timestamp": str(int(time.time() * 1000))}
    statuses = [client.post("/webhooks/hubspot", data=payload, content_type="application/json", headers=bad).status_code
                for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
