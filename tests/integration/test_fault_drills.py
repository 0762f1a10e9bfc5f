"""Fault drills: what the portal does when its parts fail under it (issue #11; the worker SIGKILLed
mid-batch and the 429 storm live in tests/integration/sync/).

Each drill runs on both CI passes: on PostgreSQL + Redis against the real servers, on the embedded
pass against fakeredis and SQLite with the same failure made there (Redis emptied; the pooled
database connections closed behind the pool's back).
"""
from __future__ import annotations

import threading

import pytest
import requests
from rq import Queue
from sqlalchemy import text

from portal.extensions import db as _db
from portal.jobs import tasks
from portal.models import CrmLink, EmailMessage, Referral, StatusEvent, SubmissionKey
from portal.services import referrals

from tests.conftest import TEST_PASSWORD
from tests.factories import OrganizationFactory, internal_user, partner_user
from tests.integration.test_submit_once import REFERRAL, hidden_values


def _queued_jobs(redis_conn) -> int:
    return sum(Queue(name, connection=redis_conn).count for name in ("default", "mail", "sync"))


def test_redis_flushed_while_pushes_and_mails_are_pending_the_sweep_redrives_everything(
        db, sandbox, connection, smtp_server, run_jobs, redis_conn):
    internal_user("manager", email="max@acme.example")
    partner = partner_user("partner_admin", organization=OrganizationFactory())
    submitted = [referrals.submit(referrals.ReferralInput(
        contact_first_name="Casey", contact_last_name=f"Doe {i}", contact_email=f"casey{i}@globex{i}.example",
        company_name=f"Globex {i}", company_domain=f"globex{i}.example", consent=True),
        partner_org=partner.organization, by=partner).referral for i in range(5)]
    assert _queued_jobs(redis_conn) > 0  # the pushes and the mails were enqueued after the commits

    redis_conn.flushdb()  # Redis loses everything: restarted without persistence, or flushed by hand

    assert _queued_jobs(redis_conn) == 0 and run_jobs() is False  # nothing left to run
    queued = list(db.session.scalars(db.select(EmailMessage).where(EmailMessage.status == "queued")))
    assert len(queued) == 5 and sandbox.all("deals") == []

    redriven = tasks.sweep()  # the database says what is pending
    assert redriven["mail"] == 5 and redriven["crm_pushes"] == 1
    run_jobs()

    db.session.expire_all()
    assert {d["properties"]["portal_referral_id"] for d in sandbox.all("deals", "portal_referral_id")} == {
        str(referral.id) for referral in submitted}
    links = list(db.session.scalars(db.select(CrmLink)))
    assert len(links) == 5 and all(link.state == "synced" and not link.dirty for link in links)
    assert all(message.status == "sent" for message in db.session.scalars(db.select(EmailMessage)))
    assert len(smtp_server.to("max@acme.example")) == 5
    # A second sweep finds nothing to do: re-driving is idempotent.
    assert tasks.sweep()["mail"] == 0 and len(sandbox.all("deals")) == 5


def _drop_connections(app) -> int:
    """Drop every database connection the web process holds, as a database restart or a failover would.

    PostgreSQL: the server terminates their backends. SQLite has no server: the pooled connections
    are closed behind the pool's back, which the web process finds out the same way, on next use.
    """
    engine = _db.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            dropped = conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
        return dropped
    dropped = 0
    pool = engine.pool
    for record in list(getattr(pool, "_pool").queue):
        if record.dbapi_connection is not None:
            record.dbapi_connection.close()  # the pool still holds it, as if it were fine
            dropped += 1
    return dropped


def _signed_in(live_server, user) -> requests.Session:
    http = requests.Session()
    login = hidden_values(http.get(f"{live_server}/login", timeout=10).text)
    assert http.post(f"{live_server}/login", data={**login, "email": user.email, "password": TEST_PASSWORD},
                     allow_redirects=False, timeout=10).status_code == 303
    return http


def test_database_connections_dropped_under_the_web_process_the_next_requests_succeed(app, live_server,
                                                                                    committed_db):
    user = partner_user("partner_admin", organization=OrganizationFactory())
    http = _signed_in(live_server, user)
    # Warm the pool with several connections, from requests at once.
    threads = [threading.Thread(target=lambda: http.get(f"{live_server}/partner/", timeout=30)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    committed_db.session.remove()  # the test's own connection goes back to the pool: it is dropped too

    assert _drop_connections(app) >= 1

    # Pre-ping finds the dead connections and opens new ones: no request sees the failure.
    assert http.get(f"{live_server}/partner/", timeout=30).status_code == 200
    form = hidden_values(http.get(f"{live_server}/partner/referrals/new", timeout=30).text)
    answer = http.post(f"{live_server}/partner/referrals/new", data={**REFERRAL, **form}, allow_redirects=False,
                       timeout=30)
    assert answer.status_code == 303
    assert committed_db.session.scalar(_db.select(_db.func.count(Referral.id))) == 1


@pytest.mark.database_server
def test_a_connection_dropped_in_the_middle_of_a_write_leaves_nothing_half_written(app, live_server, committed_db,
                                                                                   monkeypatch):
    """The database connection of a request dies between its first and its last write (PostgreSQL
    terminates the backend while the request waits for a lock): nothing of it stays, the next requests
    succeed, and sending the form again (same one-time key) creates the referral once."""
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # as in production: the error page answers
    user = partner_user("partner_admin", organization=OrganizationFactory())
    http = _signed_in(live_server, user)
    form = hidden_values(http.get(f"{live_server}/partner/referrals/new", timeout=30).text)
    blocker = _db.engine.connect()
    blocker_tx = blocker.begin()
    # The referral's rows go in first; the outbox row waits for this lock, mid-transaction.
    blocker.execute(text("LOCK TABLE email_messages IN EXCLUSIVE MODE"))
    internal_user("manager")  # so the submission writes an outbox row
    answers = []
    thread = threading.Thread(target=lambda: answers.append(http.post(
        f"{live_server}/partner/referrals/new", data={**REFERRAL, **form}, allow_redirects=False, timeout=60)))
    thread.start()
    try:
        victim = None
        for _ in range(400):
            victim = blocker.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
                "AND pid <> pg_backend_pid()")).scalar()
            if victim:
                break
            threading.Event().wait(0.05)
        assert victim, "the request never reached the locked table"
        blocker.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim})
    finally:
        blocker_tx.rollback()
        blocker.close()
    thread.join(60)
    assert answers and answers[0].status_code == 500  # that request failed, and said so

    committed_db.session.rollback()
    assert committed_db.session.scalar(_db.select(_db.func.count(Referral.id))) == 0
    assert committed_db.session.scalar(_db.select(_db.func.count(StatusEvent.id))) == 0
    assert committed_db.session.scalar(_db.select(_db.func.count(EmailMessage.id))) == 0
    assert committed_db.session.get(SubmissionKey, form["submission_key"]) is None  # given back

    again = http.post(f"{live_server}/partner/referrals/new", data={**REFERRAL, **form}, allow_redirects=False,
                      timeout=30)
    assert again.status_code == 303
    committed_db.session.rollback()
    assert committed_db.session.scalar(_db.select(_db.func.count(Referral.id))) == 1
