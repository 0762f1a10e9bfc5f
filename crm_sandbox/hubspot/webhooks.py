"""Webhook delivery: signed v3 (and v1) POSTs of change events to a configured target URL.

Events are collected during a request and handed to a background worker only after the
request's transaction commits, so a change that rolls back never fires and the request that
changed a deal never waits for the target to answer.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import logging
import queue
import threading
import time
from collections import deque

import requests
from flask import g

from crm_sandbox import clock, runtime, store
from crm_sandbox.hubspot import object_types

log = logging.getLogger(__name__)

DEFAULT_SUBSCRIPTIONS = ("deal.creation", "deal.propertyChange", "deal.deletion")
# Calculated properties change together with dealstage; a wildcard subscription skips them.
_QUIET = {"hs_is_closed", "hs_is_closed_won", "hs_deal_stage_probability"}
MAX_EVENTS_PER_REQUEST = 100  # HubSpot batches up to 100 events into one request


def sign_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """base64(HMAC-SHA256(secret, method + uri + body + timestamp)), FACTS §1.11."""
    message = (method.upper() + uri + body.decode("utf-8") + timestamp).encode("utf-8")
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def sign_v1(secret: str, body: bytes) -> str:
    return hashlib.sha256(secret.encode() + body).hexdigest()


class Dispatcher:
    """Target, secret and subscriptions of the sandbox's one app, plus its delivery worker."""

    def __init__(self, settings: dict):
        self._settings = settings
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._worker: threading.Thread | None = None
        self._event_ids = itertools.count(1)
        self.deliveries: deque[dict] = deque(maxlen=100)
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.target_url = self._settings["SANDBOX_HUBSPOT_WEBHOOK_URL"]
            self.client_secret = self._settings["SANDBOX_HUBSPOT_CLIENT_SECRET"]
            self.app_id = int(self._settings["SANDBOX_HUBSPOT_APP_ID"])
            self.portal_id = int(self._settings["SANDBOX_HUBSPOT_PORTAL_ID"])
            self.subscriptions = list(DEFAULT_SUBSCRIPTIONS)
            self.max_attempts = 3
            self.deliveries.clear()

    def configure(self, body: dict) -> dict:
        allowed = {"target_url", "client_secret", "subscriptions", "max_attempts"}
        unknown = set(body) - allowed
        if unknown:
            raise ValueError(f"unknown webhook settings: {sorted(unknown)}; allowed: {sorted(allowed)}")
        subscriptions = body.get("subscriptions")
        if subscriptions is not None and (not isinstance(subscriptions, list)
                                          or not all(isinstance(s, str) for s in subscriptions)):
            raise ValueError("subscriptions must be a list like ['deal.propertyChange:dealstage']")
        with self._lock:
            if "target_url" in body:
                self.target_url = body["target_url"] or ""
            if "client_secret" in body:
                self.client_secret = str(body["client_secret"])
            if subscriptions is not None:
                self.subscriptions = subscriptions
            if "max_attempts" in body:
                self.max_attempts = max(1, int(body["max_attempts"]))
        return self.snapshot()

    def snapshot(self) -> dict:
        with self._lock:
            return {"target_url": self.target_url, "app_id": self.app_id, "portal_id": self.portal_id,
                    "subscriptions": list(self.subscriptions), "max_attempts": self.max_attempts,
                    "client_secret_set": bool(self.client_secret),
                    "deliveries": list(self.deliveries)}

    def _subscription_id(self, event_type: str, prop: str | None) -> int | None:
        for index, subscription in enumerate(self.subscriptions):
            kind, _, name = subscription.partition(":")
            if kind == event_type and (not name or name == prop):
                if not name and prop in _QUIET:
                    return None
                return 1000 + index
        return None

    def events_for(self, changes: list[dict], source: str) -> list[dict]:
        events = []
        with self._lock:
            for change in changes:
                prop = change.get("propertyName")
                sub_id = self._subscription_id(change["subscriptionType"], prop)
                if sub_id is None:
                    continue
                event = {"eventId": next(self._event_ids), "subscriptionId": sub_id,
                         "portalId": self.portal_id, "appId": self.app_id,
                         "occurredAt": change["occurredAt"],
                         "subscriptionType": change["subscriptionType"], "attemptNumber": 0,
                         "objectId": change["objectId"], "changeSource": source,
                         "changeFlag": change["changeFlag"], "sourceId": f"sandbox:{source.lower()}"}
                if prop is not None:
                    event["propertyName"], event["propertyValue"] = prop, change["propertyValue"]
                events.append(event)
        return events

    def enqueue(self, events: list[dict]) -> None:
        with self._lock:
            target, secret, attempts = self.target_url, self.client_secret, self.max_attempts
            if not target or not events:
                return
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="hubspot-webhooks", daemon=True)
                self._worker.start()
        for start in range(0, len(events), MAX_EVENTS_PER_REQUEST):
            self._queue.put((target, secret, attempts, events[start:start + MAX_EVENTS_PER_REQUEST]))

    def _run(self) -> None:
        while True:
            target, secret, attempts, events = self._queue.get()
            try:
                self._deliver(target, secret, attempts, events)
            except Exception:  # the worker must survive any one bad delivery
                log.exception("webhook delivery to %s failed", target)

    def _deliver(self, target: str, secret: str, attempts: int, events: list[dict]) -> None:
        record = {"target_url": target, "events": len(events), "attempts": 0, "status": None,
                  "ok": False, "event_ids": [e["eventId"] for e in events]}
        for attempt in range(attempts):
            for event in events:
                event["attemptNumber"] = attempt
            body = json.dumps(events, separators=(",", ":")).encode()
            timestamp = str(clock.now_ms())
            headers = {"Content-Type": "application/json",
                       "X-HubSpot-Request-Timestamp": timestamp,
                       "X-HubSpot-Signature-v3": sign_v3(secret, "POST", target, body, timestamp),
                       "X-HubSpot-Signature": sign_v1(secret, body),
                       "X-HubSpot-Signature-Version": "v1",
                       "User-Agent": "HubSpot Connect 2.0 (crm_sandbox)"}
            record["attempts"] = attempt + 1
            try:
                # HubSpot gives a target 5 seconds to answer before counting the try as failed.
                answer = requests.post(target, data=body, headers=headers, timeout=5)
                record["status"] = answer.status_code
                if 200 <= answer.status_code < 300:
                    record["ok"] = True
                    break
            except requests.RequestException as err:
                record["status"] = f"error: {type(err).__name__}"
            time.sleep(min(0.25 * 2 ** attempt, 2.0))
        self.deliveries.append(record)


def dispatcher() -> Dispatcher:
    extras = runtime.crm("hubspot").extras
    if "webhooks" not in extras:
        extras["webhooks"] = Dispatcher(runtime.sandbox().settings)
    return extras["webhooks"]


def record_changes(object_type: str, writes: list[tuple[int, bool, dict]], *, source: str) -> None:
    """Note creations and property changes of this request; they are sent after commit."""
    kind = object_types.SINGULAR[object_type]
    now = clock.now_ms()
    changes = []
    for object_id, created, changed in writes:
        if created:
            changes.append({"subscriptionType": f"{kind}.creation", "objectId": object_id,
                            "occurredAt": now, "changeFlag": "NEW"})
        for name, value in sorted(changed.items()):
            changes.append({"subscriptionType": f"{kind}.propertyChange", "objectId": object_id,
                            "occurredAt": now, "changeFlag": "NEW" if created else "UPDATED",
                            "propertyName": name, "propertyValue": "" if value is None else value})
    _collect(changes, source)


def record_deletions(object_type: str, ids: list[int]) -> None:
    kind = object_types.SINGULAR[object_type]
    now = clock.now_ms()
    _collect([{"subscriptionType": f"{kind}.deletion", "objectId": i, "occurredAt": now,
               "changeFlag": "DELETED"} for i in ids], "API")


def _collect(changes: list[dict], source: str) -> None:
    if not changes:
        return
    hub = dispatcher()
    events = hub.events_for(changes, source)
    if not events:
        return
    pending = g.get("hubspot_webhook_events")
    if pending is None:
        pending = g.hubspot_webhook_events = []
        store.after_commit(lambda: hub.enqueue(g.pop("hubspot_webhook_events", [])))
    pending.extend(events)
