"""CRM push throughput: N new referrals synced to the HubSpot sandbox under its default rate limit.

    .venv/bin/python bench/sync_throughput.py [--quick] [--referrals N]

Starts the sandbox alone (`python -m crm_sandbox` on a free port, its own SQLite file), builds a
portal database of its own (SQLite in a temp folder), bulk-inserts N referrals (two contacts per
company domain) with dirty CRM links, and runs the push in this process (`sync.engine.push`, what
the `crm-push-{id}` job runs). Then it lifts the sandbox's limits and reads every record back.

Figures (one `name: value unit` line each, on stdout):
- hubspot_calls_per_referral: API calls (contacts, companies, deals, associations, schema) / N
- hubspot_wall_vs_floor: wall time of the push / the least time the rate limits allow for those
  calls (burst calls / (burst per 10 s), or search calls / (searches per second), whichever is longer)
- hubspot_duplicates: deals sharing a portal id + contacts sharing an email + companies sharing a domain
- hubspot_missing: referrals without their deal in the sandbox (or without a synced link)
The run is bounded: it stops with exit status 1 after TIME_BUDGET_SECONDS.

`--provider salesforce` pushes the same referrals to the Salesforce sandbox as Leads instead
(sObject Collections upserts by `Portal_Referral_Id__c`, 200 a call) and prints
`salesforce_calls_per_referral` (target <= 0.02; the OAuth token request is not an API call),
`salesforce_wall_s`, `salesforce_duplicates` (Leads sharing a portal id) and `salesforce_missing`.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = "pat-na1-bench-token"
TIME_BUDGET_SECONDS = 540
DEFAULT_BURST, DEFAULT_SEARCH_PER_SECOND = 100, 5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_sandbox(folder: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, SANDBOX_HUBSPOT_TOKEN=TOKEN, SANDBOX_HUBSPOT_WEBHOOK_URL="")
    process = subprocess.Popen(
        [sys.executable, "-m", "crm_sandbox", "--port", str(port),
         "--database-url", f"sqlite:///{folder / 'sandbox.db'}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}/sandbox/hubspot"
    for _ in range(100):
        try:
            requests.get(f"{base}/_admin/stats", timeout=1).raise_for_status()
            return process, base
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the sandbox did not start")


def _seed(n: int) -> int:
    """N referrals of one partner, two contacts per company domain; returns the partner's id."""
    from portal.extensions import db
    from portal.models import Organization, Referral
    from portal.models.types import utcnow

    partner = Organization(kind="partner", name="Bench Partner", tier="gold", domain="bench-partner.example")
    db.session.add(partner)
    db.session.commit()
    now = utcnow()
    rows = [{"partner_org_id": partner.id, "source": "portal", "number": f"R-{i + 1:06d}",
             "contact_first_name": "Pat", "contact_last_name": f"Customer{i}",
             "contact_email": f"pat{i}@company{i // 2}.example", "company_name": f"Company {i // 2}",
             "company_domain": f"company{i // 2}.example", "estimated_value": Decimal("1000.00") + i,
             "currency": "USD", "consent": True, "custom_fields": {}, "status": "submitted", "stage": "submitted",
             "duplicate_flag": False, "created_at": now, "updated_at": now} for i in range(n)]
    for start in range(0, n, 2000):
        db.session.execute(Referral.__table__.insert(), rows[start:start + 2000])
    db.session.commit()
    return partner.id


def _link_all(connection_id: int) -> None:
    from portal.extensions import db
    from portal.models import CrmLink, Referral
    from portal.models.types import utcnow

    now = utcnow()
    ids = list(db.session.scalars(db.select(Referral.id)))
    db.session.execute(CrmLink.__table__.insert(), [
        {"connection_id": connection_id, "entity_type": "referral", "entity_id": i, "crm_object": "deals",
         "state": "pending", "dirty": True, "version": 1, "pushed_values": {}, "remote_values": {},
         "created_at": now, "updated_at": now} for i in ids])
    db.session.commit()


def _read_all(base: str, object_type: str, prop: str) -> list[str | None]:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {TOKEN}"
    values, after = [], None
    while True:
        params = {"limit": 100, "properties": prop}
        if after:
            params["after"] = after
        page = http.get(f"{base}/crm/v3/objects/{object_type}", params=params, timeout=30).json()
        values += [(r["properties"] or {}).get(prop) for r in page["results"]]
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 referrals instead of 10,000")
    parser.add_argument("--referrals", type=int, help="how many referrals (overrides --quick)")
    parser.add_argument("--provider", choices=("hubspot", "salesforce"), default="hubspot")
    args = parser.parse_args(argv)
    n = args.referrals or (1_000 if args.quick else 10_000)
    if args.provider == "salesforce":
        return _salesforce_main(n)

    timer = threading.Timer(TIME_BUDGET_SECONDS, lambda: os.kill(os.getpid(), signal.SIGTERM))
    timer.daemon = True
    timer.start()
    folder = Path(tempfile.mkdtemp(prefix="sync_bench_"))
    sandbox, base = _start_sandbox(folder)
    try:
        os.environ.setdefault("SECRET_KEY", "bench-secret-key")
        from portal import create_app
        from portal.extensions import db
        from portal.models import CrmLink
        from portal.services import crm
        from portal.sync import engine

        app = create_app({"INSTANCE_PATH": str(folder), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'portal.db'}",
                          "SANDBOX_CRMS": False, "EMBEDDED_WORKER": False, "REDIS_URL": None,
                          "SECRET_KEY": "bench-secret-key"})
        with app.app_context():
            db.create_all()
            print(f"seeding {n} referrals...", file=sys.stderr)
            _seed(n)
            connection = crm.create_connection(name="HubSpot sandbox", base_url=base, token=TOKEN,
                                               sync_trigger="manual")
            _link_all(connection.id)
            requests.delete(f"{base}/_admin/stats", timeout=10)

            print("pushing...", file=sys.stderr)
            started = time.monotonic()
            stats = engine.push(connection.id)
            wall = time.monotonic() - started

            endpoints = requests.get(f"{base}/_admin/stats", timeout=10).json()["endpoints"]
            calls = sum(endpoints.values())
            searches = sum(v for k, v in endpoints.items() if k.endswith("/search"))
            floor = max((calls - searches) * 10 / DEFAULT_BURST, searches / DEFAULT_SEARCH_PER_SECOND)
            for name, count in sorted(endpoints.items()):
                print(f"  {count:6d}  {name}", file=sys.stderr)
            print(f"  push: {stats}", file=sys.stderr)

            requests.post(f"{base}/_admin/limits", json={"burst": 1_000_000, "daily": 10_000_000,
                                                         "search_per_second": 1000}, timeout=10)
            deals = _read_all(base, "deals", "portal_referral_id")
            contacts = _read_all(base, "contacts", "email")
            companies = _read_all(base, "companies", "domain")
            duplicates = sum(c - 1 for values in (deals, contacts, companies)
                             for c in Counter(v for v in values if v).values())
            synced = set(db.session.scalars(db.select(CrmLink.entity_id).where(CrmLink.state == "synced",
                                                                               CrmLink.crm_id.is_not(None))))
            in_crm = {int(v) for v in deals if v and v.isdigit()}
            missing = sum(1 for i in range(1, n + 1) if i not in in_crm or i not in synced)

        print(f"hubspot_referrals: {n}")
        print(f"hubspot_calls_per_referral: {calls / n:.4f}")
        print(f"hubspot_wall_seconds: {wall:.1f} s")
        print(f"hubspot_wall_vs_floor: {wall / floor:.2f}")
        print(f"hubspot_duplicates: {duplicates}")
        print(f"hubspot_missing: {missing}")
        return 0 if duplicates == 0 and missing == 0 and calls / n <= 0.1 else 1
    finally:
        os.killpg(sandbox.pid, signal.SIGTERM)
        sandbox.wait(10)


# ---- Salesforce ----------------------------------------------------------------------------------

SF_CLIENT_ID, SF_CLIENT_SECRET, SF_REFRESH_TOKEN = ("sandbox-demo-client-id", "sandbox-demo-client-secret",
                                                    "sandbox-demo-refresh-token")   # the sandbox's defaults


def _salesforce_leads(base: str) -> list[str | None]:
    """Every Lead's portal id, read back through SOQL (pages of 2,000)."""
    token = requests.post(f"{base}/services/oauth2/token", data={
        "grant_type": "refresh_token", "client_id": SF_CLIENT_ID, "client_secret": SF_CLIENT_SECRET,
        "refresh_token": SF_REFRESH_TOKEN}, timeout=10).json()["access_token"]
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    answer = http.get(f"{base}/services/data/v62.0/query", params={"q": "SELECT Portal_Referral_Id__c FROM Lead"},
                      timeout=60).json()
    values = []
    while True:
        values += [r.get("Portal_Referral_Id__c") for r in answer["records"]]
        if answer.get("done", True):
            return values
        answer = http.get(base.split("/services/")[0] + answer["nextRecordsUrl"]
                          if answer["nextRecordsUrl"].startswith("/services/") else answer["nextRecordsUrl"],
                          timeout=60).json()


def _salesforce_main(n: int) -> int:
    timer = threading.Timer(TIME_BUDGET_SECONDS, lambda: os.kill(os.getpid(), signal.SIGTERM))
    timer.daemon = True
    timer.start()
    folder = Path(tempfile.mkdtemp(prefix="sync_bench_sf_"))
    sandbox, hubspot_base = _start_sandbox(folder)
    base = hubspot_base.rsplit("/hubspot", 1)[0] + "/salesforce"
    try:
        os.environ.setdefault("SECRET_KEY", "bench-secret-key")
        from portal import create_app
        from portal.extensions import db
        from portal.models import CrmLink
        from portal.services import crm
        from portal.sync import engine
        from portal.sync.connectors.salesforce import client as salesforce

        app = create_app({"INSTANCE_PATH": str(folder), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'portal.db'}",
                          "SANDBOX_CRMS": False, "EMBEDDED_WORKER": False, "REDIS_URL": None,
                          "SECRET_KEY": "bench-secret-key"})
        with app.app_context():
            db.create_all()
            print(f"seeding {n} referrals...", file=sys.stderr)
            _seed(n)
            credentials = salesforce.credentials_text(client_id=SF_CLIENT_ID, client_secret=SF_CLIENT_SECRET,
                                                      refresh_token=SF_REFRESH_TOKEN)
            connection = crm.create_connection(name="Salesforce sandbox", provider="salesforce", base_url=base,
                                               token=credentials, sync_trigger="manual")
            _link_all(connection.id)
            requests.delete(f"{base}/_admin/stats", timeout=10)

            print("pushing...", file=sys.stderr)
            started = time.monotonic()
            stats = engine.push(connection.id)
            wall = time.monotonic() - started

            endpoints = requests.get(f"{base}/_admin/stats", timeout=10).json()["endpoints"]
            calls = sum(v for k, v in endpoints.items() if "/oauth2/" not in k)
            for name, count in sorted(endpoints.items()):
                print(f"  {count:6d}  {name}", file=sys.stderr)
            print(f"  push: {stats}", file=sys.stderr)
            leads = _salesforce_leads(base)
            duplicates = sum(c - 1 for c in Counter(v for v in leads if v).values())
            synced = set(db.session.scalars(db.select(CrmLink.entity_id).where(CrmLink.state == "synced",
                                                                               CrmLink.crm_id.is_not(None))))
            in_crm = {int(v) for v in leads if v and v.isdigit()}
            missing = sum(1 for i in range(1, n + 1) if i not in in_crm or i not in synced)

        print(f"salesforce_referrals: {n}")
        print(f"salesforce_calls_per_referral: {calls / n:.4f}")
        print(f"salesforce_wall_s: {wall:.1f} s")
        print(f"salesforce_duplicates: {duplicates}")
        print(f"salesforce_missing: {missing}")
        return 0 if duplicates == 0 and missing == 0 and calls / n <= 0.02 else 1
    finally:
        os.killpg(sandbox.pid, signal.SIGTERM)
        sandbox.wait(10)


if __name__ == "__main__":
    raise SystemExit(main())
