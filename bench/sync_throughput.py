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

`--scenario orgs` is organization sync's initial sync (issue #14): 2,000 partner organizations with
5 users each. With Salesforce as the master, the org holds the matching flagged Accounts and their
Contacts (same emails) and every organization is linked to its Account (the matching wizard's
"Link"); with the portal as the master the org starts empty (every organization "Create new").
Each initial sync then runs twice (the second must create nothing). Prints
`orgsync_calls_per_record_salesforce_master`, `orgsync_calls_per_record_portal_master`,
`orgsync_calls_per_record` (the larger; target <= 0.02: records are organizations + users, calls
the first run's API calls), `orgsync_wall_s_*`, `orgsync_duplicates` (Accounts sharing a portal id or
a name, Contacts sharing an email, and anything the second runs created: must be 0) and
`orgsync_missing` (organizations or users without their Salesforce record).
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


def _start_salesforce_sandbox(folder: Path) -> tuple[subprocess.Popen, str]:
    """The same sandbox process; the Salesforce API's base beside HubSpot's."""
    sandbox, hubspot_base = _start_sandbox(folder)
    return sandbox, hubspot_base.rsplit("/hubspot", 1)[0] + "/salesforce"


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
    parser.add_argument("--scenario", choices=("referrals", "orgs"), default="referrals",
                        help="orgs: organization sync's initial sync with Salesforce "
                             "(2,000 organizations, 5 users each)")
    parser.add_argument("--orgs", type=int, help="how many organizations (--scenario orgs; --quick: 200)")
    args = parser.parse_args(argv)
    n = args.referrals or (1_000 if args.quick else 10_000)
    if args.scenario == "orgs":
        return _orgs_main(args.orgs or (200 if args.quick else 2_000))
    if args.provider == "salesforce":
        return _salesforce_main(n)

    timer = threading.Timer(TIME_BUDGET_SECONDS, lambda: os.kill(os.getpid(), signal.SIGTERM))
    timer.daemon = True
    timer.start()
    folder = Path(tempfile.mkdtemp(prefix="sync_bench_"))
    sandbox, base = _start_sandbox(folder)
    try:
        os.environ.setdefault("SECRET_KEY", "bench-secret-key")
        from portal.extensions import db
        from portal.models import CrmLink
        from portal.services import crm
        from portal.sync import engine

        app = _bench_app(folder)
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


def _bench_app(folder: Path):
    """The portal on a SQLite file of its own, no worker, no Redis (the push runs in this process)."""
    from portal import create_app
    return create_app({"INSTANCE_PATH": str(folder), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'portal.db'}",
                       "SANDBOX_CRMS": False, "EMBEDDED_WORKER": False, "REDIS_URL": None,
                       "SECRET_KEY": "bench-secret-key"})


def _salesforce_connection(base: str):
    from portal.services import crm
    from portal.sync.connectors.salesforce import client as salesforce
    credentials = salesforce.credentials_text(client_id=SF_CLIENT_ID, client_secret=SF_CLIENT_SECRET,
                                              refresh_token=SF_REFRESH_TOKEN)
    return crm.create_connection(name="Salesforce sandbox", provider="salesforce", base_url=base,
                                 token=credentials, sync_trigger="manual")


def _salesforce_main(n: int) -> int:
    timer = threading.Timer(TIME_BUDGET_SECONDS, lambda: os.kill(os.getpid(), signal.SIGTERM))
    timer.daemon = True
    timer.start()
    folder = Path(tempfile.mkdtemp(prefix="sync_bench_sf_"))
    sandbox, base = _start_salesforce_sandbox(folder)
    try:
        os.environ.setdefault("SECRET_KEY", "bench-secret-key")
        from portal.extensions import db
        from portal.models import CrmLink
        from portal.sync import engine

        app = _bench_app(folder)
        with app.app_context():
            db.create_all()
            print(f"seeding {n} referrals...", file=sys.stderr)
            _seed(n)
            connection = _salesforce_connection(base)
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


# ---- organization sync (--scenario orgs) ----------------------------------------------------------

USERS_PER_ORG = 5


def _sf_http(base: str) -> requests.Session:
    token = requests.post(f"{base}/services/oauth2/token", data={
        "grant_type": "refresh_token", "client_id": SF_CLIENT_ID, "client_secret": SF_CLIENT_SECRET,
        "refresh_token": SF_REFRESH_TOKEN}, timeout=10).json()["access_token"]
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def _sf_query(http: requests.Session, base: str, soql: str) -> list[dict]:
    answer = http.get(f"{base}/services/data/v62.0/query", params={"q": soql}, timeout=120).json()
    records = []
    while True:
        records += answer["records"]
        if answer.get("done", True):
            return records
        answer = http.get(base + "/services/data/v62.0/query/" + answer["nextRecordsUrl"].rsplit("/", 1)[-1],
                          timeout=120).json()


def _sf_create(http: requests.Session, base: str, records: list[dict]) -> list[str]:
    ids = []
    for start in range(0, len(records), 200):
        answer = http.post(f"{base}/services/data/v62.0/composite/sobjects", timeout=120,
                           json={"allOrNone": True, "records": records[start:start + 200]}).json()
        ids += [r["id"] for r in answer]
    return ids


def _seed_orgs(n: int) -> None:
    """N active partner organizations with five partner users each (bulk inserts)."""
    from portal.extensions import db
    from portal.models import Organization, User
    from portal.models.types import utcnow

    now = utcnow()
    db.session.execute(Organization.__table__.insert(), [
        {"kind": "partner", "name": f"Bench Partner {i:05d}", "status": "active", "tier": "silver",
         "domain": f"partner{i}.example", "country": "DE", "members_see_all_referrals": False,
         "mfa_required": False, "created_at": now, "updated_at": now} for i in range(n)])
    org_ids = list(db.session.scalars(db.select(Organization.id).order_by(Organization.id)))
    db.session.execute(User.__table__.insert(), [
        {"organization_id": org_id, "email": f"user{j}@partner{i}.example", "name": f"Pat Person{j}",
         "role": "partner_user", "active": True, "session_token": f"bench-{i}-{j}", "notification_preferences": {},
         "created_at": now} for i, org_id in enumerate(org_ids) for j in range(USERS_PER_ORG)])
    db.session.commit()


def _seed_matching_accounts(http: requests.Session, base: str, connection_id: int) -> None:
    """The org's side for Salesforce as the master: a flagged Account per organization (its name
    spelled the Salesforce way) with the users' Contacts, and the wizard's "Link" decisions."""
    from portal.extensions import db
    from portal.models import CrmLink, Organization
    from portal.models.types import utcnow

    orgs = list(db.session.execute(db.select(Organization.id, Organization.name).where(
        Organization.kind == "partner").order_by(Organization.id)))
    account_ids = _sf_create(http, base, [
        {"attributes": {"type": "Account"}, "Name": f"{name} GmbH", "Sync_with_Portal__c": True,
         "Portal_Partner_Status__c": "Active Partner"} for _, name in orgs])
    _sf_create(http, base, [
        {"attributes": {"type": "Contact"}, "LastName": f"Person{j}", "FirstName": "Pat", "AccountId": account_id,
         "Email": f"user{j}@partner{i}.example"} for i, account_id in enumerate(account_ids)
        for j in range(USERS_PER_ORG)])
    now = utcnow()
    db.session.execute(CrmLink.__table__.insert(), [
        {"connection_id": connection_id, "entity_type": "organization", "entity_id": org_id, "crm_object": "account",
         "crm_id": account_id, "state": "pending", "dirty": True, "version": 1, "pushed_values": {},
         "remote_values": {}, "created_at": now, "updated_at": now}
        for (org_id, _), account_id in zip(orgs, account_ids)])
    db.session.commit()


def _orgs_run(master: str, n: int) -> dict:
    """One master's scenario in a fresh sandbox and portal database: two initial syncs, the figures."""
    folder = Path(tempfile.mkdtemp(prefix=f"sync_bench_orgs_{master}_"))
    sandbox, base = _start_salesforce_sandbox(folder)
    try:
        from portal.extensions import db
        from portal.models import CrmConnection, CrmLink, Organization, User
        from portal.sync import entity_organizations, initial

        app = _bench_app(folder)
        with app.app_context():
            db.create_all()
            print(f"[{master}] seeding {n} organizations with {USERS_PER_ORG} users each...", file=sys.stderr)
            _seed_orgs(n)
            connection = _salesforce_connection(base)
            connection.options = {**connection.options, "org_sync": {"enabled": True}, "org_master": master}
            db.session.commit()
            http = _sf_http(base)
            if master == "salesforce":
                _seed_matching_accounts(http, base, connection.id)
            requests.delete(f"{base}/_admin/stats", timeout=10)

            print(f"[{master}] initial sync...", file=sys.stderr)
            started = time.monotonic()
            stats = initial.initial_sync(connection.id, entity_organizations.NAMES)
            wall = time.monotonic() - started
            endpoints = requests.get(f"{base}/_admin/stats", timeout=10).json()["endpoints"]
            calls = sum(v for k, v in endpoints.items() if "/oauth2/" not in k)
            for name, count in sorted(endpoints.items()):
                print(f"  {count:6d}  {name}", file=sys.stderr)
            print(f"  push: {stats}", file=sys.stderr)

            before = (len(_sf_query(http, base, "SELECT Id FROM Account")),
                      len(_sf_query(http, base, "SELECT Id FROM Contact")))
            again = initial.initial_sync(connection.id, entity_organizations.NAMES)
            accounts = _sf_query(http, base, "SELECT Id, Name, Portal_Org_Id__c FROM Account")
            contacts = _sf_query(http, base, "SELECT Id, Email, Portal_User_Id__c FROM Contact")
            duplicates = (sum(c - 1 for c in Counter(a["Portal_Org_Id__c"] for a in accounts
                                                     if a["Portal_Org_Id__c"]).values())
                          + sum(c - 1 for c in Counter(a["Name"] for a in accounts).values())
                          + sum(c - 1 for c in Counter(c["Email"] for c in contacts).values())
                          + max(0, len(accounts) - before[0]) + max(0, len(contacts) - before[1]) + again.created)
            org_ids = {str(i) for i in db.session.scalars(db.select(Organization.id))}
            user_ids = {str(i) for i in db.session.scalars(db.select(User.id))}
            missing = (len(org_ids - {a["Portal_Org_Id__c"] for a in accounts})
                       + len(user_ids - {c["Portal_User_Id__c"] for c in contacts}))
            unsynced = db.session.scalar(db.select(db.func.count(CrmLink.id)).where(
                CrmLink.connection_id == connection.id, CrmLink.crm_id.is_(None)))
            progress = db.session.get(CrmConnection, connection.id)
            print(f"  second run: {again}; links without a record: {unsynced}; progress "
                  f"{progress.full_sync_done}/{progress.full_sync_total}", file=sys.stderr)
            records = len(org_ids) + len(user_ids)
            return {"calls_per_record": calls / records, "wall": wall, "duplicates": duplicates, "missing": missing}
    finally:
        os.killpg(sandbox.pid, signal.SIGTERM)
        sandbox.wait(10)


ORGS_TIME_BUDGET_SECONDS = 2400  # two masters, two initial syncs each, of 12,000 records (pulled one by one)


def _orgs_main(n: int) -> int:
    timer = threading.Timer(ORGS_TIME_BUDGET_SECONDS, lambda: os.kill(os.getpid(), signal.SIGTERM))
    timer.daemon = True
    timer.start()
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    results = {master: _orgs_run(master, n) for master in ("salesforce", "portal")}
    worst = max(r["calls_per_record"] for r in results.values())
    duplicates = sum(r["duplicates"] for r in results.values())
    missing = sum(r["missing"] for r in results.values())
    print(f"orgsync_organizations: {n}")
    print(f"orgsync_users: {n * USERS_PER_ORG}")
    for master, r in results.items():
        print(f"orgsync_calls_per_record_{master}_master: {r['calls_per_record']:.4f}")
        print(f"orgsync_wall_s_{master}_master: {r['wall']:.1f} s")
    print(f"orgsync_calls_per_record: {worst:.4f}")
    print(f"orgsync_duplicates: {duplicates}")
    print(f"orgsync_missing: {missing}")
    return 0 if duplicates == 0 and missing == 0 and worst <= 0.02 else 1


if __name__ == "__main__":
    raise SystemExit(main())
