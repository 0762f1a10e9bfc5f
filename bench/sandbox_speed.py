"""How fast the HubSpot sandbox answers with 10,000 deals in it (a test asserts the results, this
prints the times, which depend on the machine).

    .venv/bin/python bench/sandbox_speed.py [--deals N]

Figures: `sandbox_upsert_batch_p50` / `_max` (one batch/upsert of 100 deals), `sandbox_search_eq`
(a search on the unique id property among N deals), `sandbox_search_range` (a GTE filter sorted by
hs_lastmodifieddate).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync_throughput import TOKEN, _start_sandbox  # noqa: E402 - the same sandbox start-up


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deals", type=int, default=10_000)
    n = parser.parse_args().deals
    with tempfile.TemporaryDirectory() as folder:
        process, base = _start_sandbox(Path(folder))
        headers = {"Authorization": f"Bearer {TOKEN}"}
        try:
            requests.post(f"{base}/_admin/limits", json={"burst": 100_000, "search_per_second": 1000})
            requests.post(f"{base}/crm/v3/properties/deals", headers=headers, json={
                "name": "portal_referral_id", "label": "Portal referral ID", "type": "string",
                "fieldType": "text", "groupName": "dealinformation", "hasUniqueValue": True})
            times = []
            with requests.Session() as http:
                for batch in range(n // 100):
                    inputs = [{"idProperty": "portal_referral_id", "id": f"R-{batch * 100 + i}",
                               "properties": {"dealname": f"Deal {batch * 100 + i}", "amount": str(i),
                                              "dealstage": "appointmentscheduled"}} for i in range(100)]
                    started = time.perf_counter()
                    http.post(f"{base}/crm/v3/objects/deals/batch/upsert", headers=headers,
                              json={"inputs": inputs}).raise_for_status()
                    times.append(time.perf_counter() - started)
                started = time.perf_counter()
                http.post(f"{base}/crm/v3/objects/deals/search", headers=headers, json={"filterGroups": [
                    {"filters": [{"propertyName": "portal_referral_id", "operator": "EQ", "value": "R-98"}]}]}
                ).raise_for_status()
                search_eq = time.perf_counter() - started
                started = time.perf_counter()
                http.post(f"{base}/crm/v3/objects/deals/search", headers=headers, json={
                    "filterGroups": [{"filters": [{"propertyName": "amount", "operator": "GTE", "value": "99"}]}],
                    "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}], "limit": 200}
                ).raise_for_status()
                search_range = time.perf_counter() - started
        finally:
            process.kill()
    print(f"sandbox_deals: {n} deals")
    print(f"sandbox_upsert_batch_p50: {statistics.median(times) * 1000:.1f} ms")
    print(f"sandbox_upsert_batch_max: {max(times) * 1000:.1f} ms")
    print(f"sandbox_search_eq: {search_eq * 1000:.1f} ms")
    print(f"sandbox_search_range: {search_range * 1000:.1f} ms")


if __name__ == "__main__":
    main()
