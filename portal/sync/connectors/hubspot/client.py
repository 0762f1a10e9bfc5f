"""HubSpot's API as the connector uses it: the calls, field for field as HubSpot documents them, and
what its answers say about its rate limits.

References are to the team's research notes (FACTS §1). Paths are built in one place (`_path`) so
the connection can move from the legacy `v3`/`v4` paths to the date-versioned ones (FACTS §1.1).
Every call goes through `sync.http.Client`; every failure is a `CrmError`.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime

from portal.sync.http import Client, CrmError, RateLimitPolicy, int_header

BATCH_SIZE = 100            # object batch endpoints take at most 100 inputs (FACTS §1.4)
ASSOCIATION_BATCH = 2000    # v4 association batch create takes at most 2,000 (FACTS §1.6)
SEARCH_PAGE = 200           # search pages hold at most 200 (FACTS §1.5)
SEARCH_CAP = 10_000         # paging beyond 10,000 results is a 400 (FACTS §1.5)
IN_VALUES = 100             # values per IN filter we send in one search

DEAL_ID_PROPERTY = "portal_referral_id"
COMPANY_ID_PROPERTY = "portal_company_domain"

# Association type ids (FACTS §1.6): directional, HUBSPOT_DEFINED.
CONTACT_TO_PRIMARY_COMPANY = 1
DEAL_TO_PRIMARY_COMPANY = 5
OBJECT_TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "deals": "0-3"}

DEFAULT_PIPELINE = "default"
_EXISTING_ID = re.compile(r"Existing ID: (\d+)")


def _path(api: str, version: str, rest: str) -> str:
    """`api` is objects | associations | properties | pipelines; `rest` follows the version."""
    if version == "v3":
        legacy = {"objects": "/crm/v3/objects", "associations": "/crm/v4/associations",
                  "properties": "/crm/v3/properties", "pipelines": "/crm/v3/pipelines"}
        return legacy[api] + rest
    return f"/crm/{api}/{version}{rest}"


@dataclass
class HubSpot:
    client: Client
    version: str = "v3"

    # ---- schema ---------------------------------------------------------------------------

    def properties(self, object_type: str) -> list[dict]:
        """The object's property definitions (name, label, type, options...)."""
        return self.client.get(_path("properties", self.version, f"/{object_type}"))["results"]

    def pipelines(self, object_type: str = "deals") -> list[dict]:
        return self.client.get(_path("pipelines", self.version, f"/{object_type}"))["results"]

    def has_property(self, object_type: str, name: str) -> bool:
        """Does the object have this property? (a GET of its definition; 404: no)"""
        try:
            self.client.get(_path("properties", self.version, f"/{object_type}/{name}"))
        except CrmError as err:
            if err.status != 404:
                raise
            return False
        return True

    def ensure_unique_property(self, object_type: str, name: str, label: str, group: str) -> bool:
        """Create our unique id property if missing (FACTS §1.8); True if it had to be created."""
        try:
            found = self.client.get(_path("properties", self.version, f"/{object_type}/{name}"))
        except CrmError as err:
            if err.status != 404:
                raise
            found = None
        if found is not None:
            if not found.get("hasUniqueValue"):
                raise CrmError(400, f"HubSpot property {object_type}.{name} exists but is not unique; "
                                    "the portal needs it unique to upsert without duplicates.", retryable=False)
            return False
        try:
            self.client.post(_path("properties", self.version, f"/{object_type}"), json={
                "name": name, "label": label, "type": "string", "fieldType": "text", "groupName": group,
                "hasUniqueValue": True})
        except CrmError as err:
            if err.status != 409:  # created meanwhile by another run: fine
                raise
        return True

    # ---- objects --------------------------------------------------------------------------

    def batch_read(self, object_type: str, ids: list[str], *, id_property: str | None = None,
                   properties: list[str] | None = None) -> list[dict]:
        """Records found among `ids` (missing ones are simply absent: a 207 `OBJECT_NOT_FOUND`)."""
        body = {"inputs": [{"id": i} for i in ids], "properties": properties or []}
        if id_property:
            body["idProperty"] = id_property
        answer = self.client.post(_path("objects", self.version, f"/{object_type}/batch/read"), json=body)
        return answer.get("results", [])

    def batch_upsert(self, object_type: str, id_property: str, items: list[tuple[str, dict]]) -> list[dict]:
        """Create or update by a unique property (FACTS §1.4): a retry can never create a second record.

        One invalid input fails the whole batch (upserts have no multi-status); the engine splits it.
        """
        inputs = [{"idProperty": id_property, "id": key, "properties": props} for key, props in items]
        answer = self.client.post(_path("objects", self.version, f"/{object_type}/batch/upsert"),
                                  json={"inputs": inputs})
        return answer.get("results", [])

    def batch_update(self, object_type: str, items: list[tuple[str, dict]]) -> tuple[list[dict], list[dict]]:
        inputs = [{"id": record_id, "properties": props, "objectWriteTraceId": record_id}
                  for record_id, props in items]
        answer = self.client.post(_path("objects", self.version, f"/{object_type}/batch/update"),
                                  json={"inputs": inputs})
        return answer.get("results", []), answer.get("errors", [])

    def search(self, object_type: str, body: dict) -> dict:
        return self.client.post(_path("objects", self.version, f"/{object_type}/search"), json=body,
                                bucket="search")

    def search_all(self, object_type: str, filter_groups: list[dict], properties: list[str],
                   sorts: list[dict] | None = None):
        """Every page of one search (at most 10,000 results: callers restart past that)."""
        after = None
        while True:
            body = {"filterGroups": filter_groups, "properties": properties, "limit": SEARCH_PAGE}
            if sorts:
                body["sorts"] = sorts
            if after:
                body["after"] = after
            answer = self.search(object_type, body)
            yield from answer.get("results", [])
            after = ((answer.get("paging") or {}).get("next") or {}).get("after")
            if not after or int(after) + SEARCH_PAGE > SEARCH_CAP:
                return

    # ---- associations ---------------------------------------------------------------------

    def associate(self, from_type: str, to_type: str, pairs: list[tuple[str, str]],
                  type_id: int | None = None) -> None:
        """v4 batch association (FACTS §1.6): the default type, or a HUBSPOT_DEFINED label such as
        "primary company". Associations are a set, so sending a pair twice is harmless."""
        for start in range(0, len(pairs), ASSOCIATION_BATCH):
            chunk = pairs[start:start + ASSOCIATION_BATCH]
            if type_id is None:
                inputs = [{"from": {"id": f}, "to": {"id": t}} for f, t in chunk]
                self.client.post(_path("associations", self.version, f"/{from_type}/{to_type}/batch/associate/default"),
                                 json={"inputs": inputs})
            else:
                spec = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]
                inputs = [{"from": {"id": f}, "to": {"id": t}, "types": spec} for f, t in chunk]
                self.client.post(_path("associations", self.version, f"/{from_type}/{to_type}/batch/create"),
                                 json={"inputs": inputs})


def existing_id(message: str) -> str | None:
    """The record id in HubSpot's 409 "Contact already exists. Existing ID: 123" (FACTS §1.9)."""
    match = _EXISTING_ID.search(message or "")
    return match.group(1) if match else None


def record_url(base_url: str, record: dict, object_type: str = "deals", portal_id: str | None = None) -> str | None:
    """"View in HubSpot": the `url` HubSpot returns, else app.hubspot.com's record shape (FACTS §1.2)."""
    if record.get("url"):
        return record["url"]
    if portal_id:
        return f"https://app.hubspot.com/contacts/{portal_id}/record/{OBJECT_TYPE_IDS[object_type]}/{record['id']}"
    return None


def to_ms(value) -> int | None:
    """HubSpot dates come as ms-since-epoch strings or ISO 8601 (FACTS §1.2)."""
    if value in (None, ""):
        return None
    text = str(value)
    if text.isdigit():
        return int(text)
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


class RateLimits(RateLimitPolicy):
    """HubSpot's 429 carries no Retry-After (FACTS §1.10): its body names the policy whose window is
    full (`TEN_SECONDLY_ROLLING` frees within the 10-second window, search's `SECONDLY` within a
    second, `DAILY` not today), and every other answer announces the 10-second limit in headers."""

    def learn(self, response) -> tuple[int, float] | None:
        maximum = int_header(response, "X-HubSpot-RateLimit-Max")
        interval = int_header(response, "X-HubSpot-RateLimit-Interval-Milliseconds")
        return (maximum, interval / 1000) if maximum and interval else None

    def delay_after_429(self, response, error: CrmError, bucket: str) -> float:
        policy = error.body.get("policyName", "")
        if bucket == "search" or policy == "SECONDLY":
            return 1.0 + random.random() * 0.2
        if policy == "DAILY":
            return float("inf")  # not worth waiting for in a job: it fails as retryable, RQ tries later
        interval = int_header(response, "X-HubSpot-RateLimit-Interval-Milliseconds") or 10_000
        # The rolling window frees as the oldest calls age out; wait for part of it, then try again.
        return max(1.0, interval / 1000 / 4) * (0.8 + random.random() * 0.4)
