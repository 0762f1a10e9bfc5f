"""The per-process cache of small reads: served without a query, and never stale in another process."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import event

from portal.services import branding, custom_fields, read_cache, settings, statuses

from tests.conftest import TEST_PASSWORD
from tests.factories import ReferralFactory, partner_user

ROOT = Path(__file__).resolve().parents[2]


class Statements:
    def __init__(self, engine):
        self.engine, self.seen = engine, []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self.seen

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, *args):
        self.seen.append(statement)


def test_a_request_reads_the_stamps_once_and_the_cached_values_not_at_all(app, db):
    read_cache.clear()
    with app.test_request_context("/"):
        settings.get("duplicates"), statuses.all_statuses(), custom_fields.active(), branding.get()
    db.session.rollback()  # the next request is a new transaction
    with app.test_request_context("/"), Statements(db.engine) as seen:
        assert settings.get("duplicates") == {"policy": "flag", "window_days": 90}
        assert statuses.labels()["submitted"] == "Submitted"
        assert custom_fields.active() == [] and branding.get().headline
    queries = [statement for statement in seen if "SAVEPOINT" not in statement]  # the test's own transaction
    assert len(queries) == 1 and "cache_stamps" in queries[0]


def test_a_write_is_seen_at_once_and_a_rolled_back_one_never(app, db):
    with app.test_request_context("/"):
        assert settings.get("duplicates")["policy"] == "flag"
        settings.update_duplicates(policy="block", window_days=30)
        assert settings.get("duplicates") == {"policy": "block", "window_days": 30}
        statuses.ensure_builtin()
        db.session.commit()
        statuses.rename("accepted", "Taken on")
        assert statuses.labels()["accepted"] == "Taken on"
        custom_fields.define(label="Region", kind="select", options=["EMEA", "APAC"])
        assert [f.key for f in custom_fields.active()] == ["cf_region"]
        # Changed, read (through: this transaction wrote it), then rolled back: the cache keeps no trace.
        settings.save("duplicates", {"policy": "allow", "window_days": 7})
        assert settings.get("duplicates")["policy"] == "allow"
        db.session.rollback()
    with app.test_request_context("/"):
        assert settings.get("duplicates") == {"policy": "block", "window_days": 30}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def other_process(app, committed_db):
    """The portal served by a second process on the same database, as a second gunicorn worker is."""
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY=app.config["SECRET_KEY"],
               INSTANCE_PATH=app.config["INSTANCE_PATH"], SANDBOX_CRMS="0", EMBEDDED_WORKER="0", PORTAL_ENV="test",
               PYTHONPATH=str(ROOT))
    env.pop("REDIS_URL", None)
    if app.config.get("REDIS_URL"):
        env["REDIS_URL"] = app.config["REDIS_URL"]
    server = subprocess.Popen([sys.executable, "-c", "from werkzeug.serving import run_simple; from portal import "
                               f"create_app; run_simple('127.0.0.1', {port}, create_app(), threaded=True)"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:  # a bounded wait for the process to answer, not a pause
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code in (200, 503):
                    break
            except requests.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the second portal process did not start")
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.committed
def test_another_process_sees_a_renamed_status_and_a_changed_setting_on_its_next_request(app, committed_db,
                                                                                         other_process):
    partner = partner_user("partner_admin")
    ReferralFactory(partner_org=partner.organization, submitted_by=partner)
    statuses.ensure_builtin()
    committed_db.session.commit()

    browser = requests.Session()
    login = browser.get(f"{other_process}/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login.text).group(1)
    signed_in = browser.post(f"{other_process}/login", data={"email": partner.email, "password": TEST_PASSWORD,
                                                             "csrf_token": token}, allow_redirects=False)
    assert signed_in.status_code == 303
    badge = 'data-stage="submitted">{}</span>'
    assert badge.format("Submitted") in browser.get(f"{other_process}/partner/referrals").text  # cached there now
    assert "talk about what you need" in requests.get(f"{other_process}/refer").text

    # This process writes; the other one's very next request shows it.
    committed_db.session.rollback()  # end this process's read transaction (SQLite: its snapshot) before writing
    statuses.rename("submitted", "Waiting for review")
    branding.update(vendor_name="Acme", primary_color="#2546c8", headline="Tell us everything",
                    intro="", privacy_text="", attribution_days=30)
    assert badge.format("Waiting for review") in browser.get(f"{other_process}/partner/referrals").text
    assert "Tell us everything" in requests.get(f"{other_process}/refer").text


def _sign_in(base: str, email: str) -> requests.Session:
    browser = requests.Session()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', browser.get(f"{base}/login").text).group(1)
    signed_in = browser.post(f"{base}/login", data={"email": email, "password": TEST_PASSWORD, "csrf_token": token},
                             allow_redirects=False)
    assert signed_in.status_code == 303
    return browser


@pytest.mark.committed
def test_another_process_shows_a_new_referral_on_its_dashboards_next_request(app, committed_db, other_process):
    partner = partner_user("partner_admin")
    ReferralFactory(partner_org=partner.organization, submitted_by=partner)
    committed_db.session.commit()
    browser = _sign_in(other_process, partner.email)
    kpi = '<p class="kpi__label">Referrals</p>\n    <p class="kpi__value">{}</p>'
    first = browser.get(f"{other_process}/partner/").text
    assert kpi.format(1) in first and "Referrals submitted (1)" in first  # the counts and the chart, cached there

    committed_db.session.rollback()  # end this process's read transaction before writing
    ReferralFactory(partner_org=partner.organization, submitted_by=partner)
    committed_db.session.commit()
    following = browser.get(f"{other_process}/partner/").text
    assert kpi.format(2) in following and "Referrals submitted (2)" in following
