"""The job layer: enqueue after commit, coalescing, a real worker process, and the sweep."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from portal.jobs import queues
from portal.extensions import db as _db
from portal.models import EmailMessage
from portal.services import sweep

from tests.factories import partner_user

ROOT = Path(__file__).resolve().parents[2]


def _queued(name: str = "mail") -> list[str]:
    return queues.queue(name).get_job_ids()


def _queue_mail(user) -> EmailMessage:
    from portal.jobs import mail

    message = mail.queue("password_reset", to=user, subject="Hello", template="password_reset",
                         user=user, link="http://portal.test/x", minutes=60)
    return message


def test_a_job_is_enqueued_only_after_the_commit(app, db, redis_conn):
    user = partner_user()
    message = _queue_mail(user)
    assert _queued() == []
    _db.session.commit()
    assert _queued() == [f"mail-{message.id}"]


def test_a_transactions_new_messages_are_enqueued_together_each_with_its_retries(app, db, redis_conn,
                                                                                run_jobs, smtp_server):
    first, second = _queue_mail(partner_user()), _queue_mail(partner_user())
    _db.session.commit()
    assert _queued() == [f"mail-{first.id}", f"mail-{second.id}"]
    job = queues.queue("mail").fetch_job(f"mail-{first.id}")
    assert job.retries_left == 4 and job.args == (first.id,)
    run_jobs()
    assert {m["To"] for m in smtp_server.messages} == {first.to_address, second.to_address}
    _db.session.expire_all()  # the worker committed in its own session
    assert first.status == second.status == "sent"


def test_mail_that_redis_refused_at_the_commit_is_kept_for_the_sweep(app, db, redis_conn, run_jobs, monkeypatch):
    import redis

    def refuse(self, *args, **kwargs):
        raise redis.ConnectionError("Redis is down")

    message = _queue_mail(partner_user())
    monkeypatch.setattr(type(redis_conn.pipeline()), "execute", refuse)
    _db.session.commit()  # the commit stands: the row is the durable record
    monkeypatch.undo()
    assert _queued() == [] and message.status == "queued"
    assert sweep.run()["mail"] == 1
    run_jobs()
    assert message.status == "sent"


def test_a_rolled_back_transaction_enqueues_nothing(app, db, redis_conn):
    user = partner_user()
    _queue_mail(user)
    _db.session.rollback()
    assert _queued() == []
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(EmailMessage)) == 0


def test_jobs_with_the_same_id_coalesce_while_pending(app, db, redis_conn):
    assert queues.enqueue_now("portal.jobs.tasks.sweep", job_id="sweep-once") is True
    assert queues.enqueue_now("portal.jobs.tasks.sweep", job_id="sweep-once") is False
    assert _queued("default") == ["sweep-once"]


def test_the_sweep_re_drives_mail_whose_job_was_lost(app, db, redis_conn, run_jobs):
    user = partner_user()
    message = _queue_mail(user)
    _db.session.commit()
    redis_conn.flushdb()  # Redis lost the job
    assert _queued() == []
    assert sweep.run()["mail"] == 1
    run_jobs()
    assert message.status == "sent"
    assert sweep.run()["mail"] == 0


def test_a_second_run_of_a_delivered_message_sends_nothing_more(app, db, redis_conn, run_jobs, smtp_server):
    from portal.jobs import mail

    user = partner_user()
    message = _queue_mail(user)
    _db.session.commit()
    run_jobs()
    mail.deliver(message.id)
    assert len(smtp_server.messages) == 1
    assert message.attempts == 1


def test_cron_schedule_runs_the_sweep_every_minute():
    from portal.jobs import cron

    [entry] = [e for e in cron.SCHEDULE if e["func"].__name__ == "sweep"]
    assert entry["interval"] == 60 and entry["queue_name"] == "default"


@pytest.mark.committed
def test_a_separate_worker_process_delivers_mail(app, committed_db, redis_conn, smtp_server):
    """worker.py on the real Redis when REDIS_URL is set; the embedded thread on fakeredis otherwise."""
    user = partner_user()
    message = _queue_mail(user)
    _db.session.commit()
    message_id = message.id

    worker = embedded = None
    if app.config["REDIS_URL"]:
        env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
               "REDIS_URL": app.config["REDIS_URL"], "SMTP_URL": app.config["SMTP_URL"],
               "SANDBOX_CRMS": "0", "SECRET_KEY": "test-secret-key", "INSTANCE_PATH": app.config["INSTANCE_PATH"]}
        worker = subprocess.Popen([sys.executable, "worker.py", "mail"], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    else:
        embedded = queues.start_embedded_worker(app, _no_cron(), poll_seconds=0.1)
    try:
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline:
            _db.session.rollback()  # end the read transaction, or SQLite keeps showing its snapshot
            status = _db.session.get(EmailMessage, message_id).status
            if status == "sent":
                break
            time.sleep(0.2)
        assert status == "sent"
        assert len(smtp_server.to(user.email)) == 1
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(10)
        if embedded is not None:
            embedded.stop()


def _no_cron():
    from rq.cron import CronScheduler

    return CronScheduler(connection=queues.connection())
