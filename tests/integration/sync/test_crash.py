"""A push killed with SIGKILL in the middle of a batch, then restarted: no duplicate, nothing lost."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from portal.extensions import db as _db
from portal.models import CrmLink
from portal.services import crm
from tests.factories import ReferralFactory
from tests.crm_fixtures import make_connection

ROOT = Path(__file__).resolve().parents[3]


def _env(app) -> dict:
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY=app.config["SECRET_KEY"],
               INSTANCE_PATH=app.config["INSTANCE_PATH"], SANDBOX_CRMS="0", EMBEDDED_WORKER="0")
    env.pop("REDIS_URL", None)
    if app.config.get("REDIS_URL"):
        env["REDIS_URL"] = app.config["REDIS_URL"]
    return env


def _flask(*args) -> list[str]:
    return [str(Path(sys.executable).with_name("flask")), "--app", "portal", "portal", *args]


@pytest.mark.committed
def test_a_push_killed_mid_batch_and_restarted_leaves_no_duplicate_and_nothing_missing(app, committed_db, sandbox):
    connection = make_connection(sandbox.base, sync_trigger="manual")
    referrals_ = [ReferralFactory() for _ in range(250)]
    for referral in referrals_:
        crm.sync_now(referral)
    sandbox.admin("faults", {"latency_ms": 150})

    if app.config.get("REDIS_URL"):
        # The real thing: an RQ worker process on the real Redis runs the coalesced push job.
        crm.schedule_push(connection.id, after_commit=False)
        victim = subprocess.Popen([sys.executable, "worker.py", "sync"], cwd=ROOT, env=_env(app),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        # No Redis: the embedded worker lives in the web process, so kill a process running the engine.
        victim = subprocess.Popen(_flask("sync", "push", "--connection", str(connection.id)), cwd=ROOT,
                                  env=_env(app), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            calls = sandbox.admin("stats", method="GET")["endpoints"]
            if calls.get("POST /crm/v3/objects/deals/batch/upsert", 0) >= 1 and \
                    calls.get("POST /crm/v3/objects/contacts/batch/read", 0) >= 2:
                break  # one batch committed, the second is between its contact and its deal calls
            time.sleep(0.05)
        else:
            pytest.fail("the push never got going")
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)

    _db.session.rollback()
    pending = _db.session.scalar(_db.select(_db.func.count(CrmLink.id)).where(CrmLink.dirty.is_(True)))
    assert 0 < pending < 250  # killed in the middle: some work done, some left
    sandbox.admin("faults", method="DELETE")

    # Restart: the engine picks up what the database says is pending.
    subprocess.run(_flask("sync", "push", "--connection", str(connection.id)), cwd=ROOT, env=_env(app),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)

    _db.session.rollback()
    deals = [d["properties"]["portal_referral_id"] for d in sandbox.all("deals", "portal_referral_id")]
    emails = [c["properties"]["email"] for c in sandbox.all("contacts", "email")]
    domains = [c["properties"]["domain"] for c in sandbox.all("companies", "domain")]
    assert sorted(deals) == sorted(str(r.id) for r in referrals_)
    assert len(emails) == len(set(emails)) == 250 and len(domains) == len(set(domains)) == 250
    links = list(_db.session.scalars(_db.select(CrmLink)))
    assert len(links) == 250 and all(link.state == "synced" and not link.dirty for link in links)
    assert all(link.associated_key == link.wanted_associations for link in links)
