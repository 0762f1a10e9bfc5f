"""Deal changes from HubSpot: search on `hs_lastmodifieddate`, ascending, paged, restarted past
10,000 results (FACTS §1.12), a few seconds back from the watermark because search is eventually
consistent (FACTS §1.5). Only deals that carry our portal id are the portal's."""
from __future__ import annotations

from typing import Iterator

from portal.sync.connectors.base import Change
from portal.sync.connectors.hubspot import client as hubspot

PULL_OVERLAP_MS = 5_000
MODIFIED = "hs_lastmodifieddate"
ALWAYS_READ = ("dealname", "dealstage", "pipeline", "amount", MODIFIED, hubspot.DEAL_ID_PROPERTY)


def deal_changes(api: hubspot.HubSpot, watermark_ms: int, properties: list[str]) -> Iterator[Change]:
    """Every deal modified since the watermark (oldest first), as a Change."""
    names = sorted(set(ALWAYS_READ) | {p for p in properties if "." not in p})  # no "contact.x": a deal's own only
    watermark = newest = watermark_ms
    while True:
        count = 0
        groups = [{"filters": [
            {"propertyName": MODIFIED, "operator": "GTE", "value": str(max(0, watermark - PULL_OVERLAP_MS))},
            {"propertyName": hubspot.DEAL_ID_PROPERTY, "operator": "HAS_PROPERTY"}]}]
        for deal in api.search_all("deals", groups, names, sorts=[{"propertyName": MODIFIED, "direction": "ASCENDING"}]):
            count += 1
            props = deal.get("properties") or {}
            modified = hubspot.to_ms(props.get(MODIFIED)) or 0
            newest = max(newest, modified)
            portal_id = props.get(hubspot.DEAL_ID_PROPERTY)
            yield Change(str(deal["id"]), str(portal_id) if portal_id else None, modified,
                         {k: v for k, v in props.items() if k != MODIFIED})
        if count >= hubspot.SEARCH_CAP and newest > watermark:
            # Past 10,000 results search answers 400: start again from the newest stamp seen (FACTS §1.12).
            watermark = newest
            continue
        return
