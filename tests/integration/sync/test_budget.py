"""The request budget is one per CRM account, shared by every worker process (counted in Redis)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import fakeredis
import pytest
import redis

from portal.services import crm
from tests.crm_fixtures import make_connection
from tests.factories import ReferralFactory

ROOT = Path(__file__).resolve().parents[3]
BURST = 20


@pytest.fixture
def shared_redis_url(app, tmp_path):
    """The run's Redis; without one (the embedded default) a Redis of the test's own, so that two
    processes share it as two workers share a Redis (a redis-server if installed, else fakeredis over TCP)."""
    if app.config.get("REDIS_URL"):
        yield app.config["REDIS_URL"]
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    binary = shutil.which("redis-server")
    if binary:
        server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                   "--appendonly", "no", "--dir", str(tmp_path)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=port)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.02)  # waiting for a server to start, not for time to pass
        yield f"redis://127.0.0.1:{port}/0"
        server.terminate()
        server.wait(10)
        return
    fake = fakeredis.TcpFakeServer(("127.0.0.1", port), server_type="redis")
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    yield f"redis://127.0.0.1:{port}/0?protocol=2"  # fakeredis speaks RESP2 over TCP only
    fake.shutdown()
    fake.server_close()


@pytest.mark.committed
def test_two_worker_processes_pushing_at_once_stay_under_the_crms_rate_limit(app, committed_db, sandbox,
                                                                             shared_redis_url):
    # Two connections with one token: one HubSpot app, one limit, however many workers push.
    connections = [make_connection(sandbox.base, sync_trigger="manual", options={"burst": BURST}) for _ in range(2)]
    # From here on only the two workers call the sandbox (its windows start afresh with the new limit).
    sandbox.admin("limits", {"burst": BURST})
    referrals_ = [ReferralFactory() for _ in range(200)]
    for referral in referrals_:
        crm.sync_now(referral)  # a dirty link to each connection
    sandbox.admin("stats", method="DELETE")

    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY=app.config["SECRET_KEY"],
               INSTANCE_PATH=app.config["INSTANCE_PATH"], SANDBOX_CRMS="0", EMBEDDED_WORKER="0",
               REDIS_URL=shared_redis_url)
    flask = str(Path(sys.executable).with_name("flask"))
    workers = [subprocess.Popen([flask, "--app", "portal", "portal", "sync", "push", "--connection", str(c.id)],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
               for c in connections]
    for worker in workers:
        _, errors = worker.communicate(timeout=180)
        assert worker.returncode == 0, errors.decode()[-2000:]

    stats = sandbox.admin("stats", method="GET")
    assert stats["total"] > BURST  # more than one window's worth, sent by two processes at once
    assert stats["statuses"].get("429", 0) == 0, stats
    deals = [d["properties"]["portal_referral_id"] for d in sandbox.all("deals", "portal_referral_id")]
    assert sorted(deals) == sorted(str(r.id) for r in referrals_)
