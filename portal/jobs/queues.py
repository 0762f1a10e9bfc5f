"""The job layer: named RQ queues, enqueue-after-commit, and the embedded worker.

Services never enqueue directly: they call `enqueue_after_commit`, which holds the job until the
database transaction that made the work durable has committed (DESIGN.md §2). Jobs are named by
dotted path ("portal.jobs.tasks.send_email") so this module never imports the services that use it.

Two modes, one code path:
- REDIS_URL set: jobs go to that Redis; `worker.py` processes them and `rq cron` runs periodic work.
- no REDIS_URL: an in-process fakeredis server and an RQ worker thread run the very same jobs.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import fakeredis
import redis
from flask import Flask, current_app
from rq import Queue, Retry, SimpleWorker
from rq.cron import CronScheduler
from rq.exceptions import DuplicateJobError
from rq.timeouts import TimerDeathPenalty
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal import database
from portal.extensions import db

log = logging.getLogger(__name__)

QUEUE_NAMES = ("default", "mail", "sync")
_PENDING_KEY = "portal_pending_jobs"


@dataclass
class PendingJob:
    func: str
    args: tuple
    queue: str
    job_id: str | None = None
    retry: Retry | None = None
    options: dict = field(default_factory=dict)
    fresh_id: bool = False


# ---- connection ---------------------------------------------------------------------------

def connection(app: Flask | None = None) -> redis.Redis:
    """The Redis connection for this app, built on first use (nothing connects at import time)."""
    app = app or current_app._get_current_object()
    conn = app.extensions.get("portal_redis")
    if conn is None:
        url = app.config.get("REDIS_URL")
        if url:
            conn = redis.Redis.from_url(url)
        else:
            server = app.extensions.setdefault("portal_fakeredis_server", fakeredis.FakeServer())
            conn = fakeredis.FakeRedis(server=server)
        app.extensions["portal_redis"] = conn
    return conn


def queue(name: str, app: Flask | None = None) -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=connection(app))


# ---- enqueue after commit -----------------------------------------------------------------

def enqueue_after_commit(func: str, *args, queue: str = "default", job_id: str | None = None,
                         retry: Retry | None = None, fresh_id: bool = False, **options) -> None:
    """Run `func(*args)` on `queue` once the current transaction commits; dropped on rollback.

    A `job_id` coalesces: while a job with that id is pending, another enqueue is a no-op (the
    database says what is pending, so nothing is lost; the sweep re-drives it if Redis lost it).
    `fresh_id` says the id names a row this transaction inserted, so no twin can be pending: such
    jobs skip the check and go to Redis together, in one round trip (a submission's three mails).
    """
    pending = db.session.info.setdefault(_PENDING_KEY, [])
    job = PendingJob(func, args, queue, job_id, retry, options, fresh_id)
    if job_id is None or all(p.job_id != job_id for p in pending):
        pending.append(job)


def enqueue_now(func: str, *args, queue: str = "default", job_id: str | None = None,
                retry: Retry | None = None, **options) -> bool:
    """Enqueue at once (for the sweep and the CLI). Returns False if a coalesced twin is pending."""
    return _enqueue(PendingJob(func, args, queue, job_id, retry, options))


def _enqueue(job: PendingJob) -> bool:
    app = current_app._get_current_object()
    options = dict(job.options)
    if job.job_id:
        # A finished coalesced job must not block the next one: keep no result, forget failures soon.
        options.setdefault("result_ttl", 0)
        options.setdefault("failure_ttl", 300)
    try:
        queue(job.queue, app).enqueue(job.func, *job.args, job_id=job.job_id, unique=bool(job.job_id),
                                      retry=job.retry, **options)
    except DuplicateJobError:
        return False
    except redis.RedisError:
        # The work is durable in the database; the periodic sweep will enqueue it again.
        log.warning("could not enqueue %s%r; the sweep will retry", job.func, job.args, exc_info=True)
        return False
    wake = app.extensions.get("portal_worker_wake")
    if wake is not None:
        wake.set()
    return True


@event.listens_for(Session, "after_commit")
def _enqueue_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the transaction has not committed yet
    jobs = session.info.pop(_PENDING_KEY, [])
    for job in jobs:
        if not job.fresh_id:
            _enqueue(job)
    fresh = [job for job in jobs if job.fresh_id]
    if fresh:
        _enqueue_together(fresh)


def _enqueue_together(jobs: list[PendingJob]) -> None:
    app = current_app._get_current_object()
    pipeline = connection(app).pipeline()
    try:
        for name in dict.fromkeys(job.queue for job in jobs):
            queue(name, app).enqueue_many(
                [Queue.prepare_data(job.func, job.args, job_id=job.job_id, retry=job.retry, **_kept(job.options))
                 for job in jobs if job.queue == name], pipeline=pipeline)
        pipeline.execute()
    except redis.RedisError:
        log.warning("could not enqueue %s; the sweep will retry", [job.job_id or job.func for job in jobs],
                    exc_info=True)
        return
    wake = app.extensions.get("portal_worker_wake")
    if wake is not None:
        wake.set()


def _kept(options: dict) -> dict:
    # A fresh id is never reused, so its job needs no result kept (as a coalesced one, see _enqueue).
    return {"result_ttl": 0, "failure_ttl": 300, **options}


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction) -> None:
    # Only the outermost rollback drops them: a savepoint rolled back inside a use case (one item
    # of a bulk action) must not take its siblings' jobs along. A job for a row that was rolled
    # back finds nothing to do.
    if previous_transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)


# ---- workers ------------------------------------------------------------------------------

class AppWorker(SimpleWorker):
    """An RQ worker that runs each job in a fresh app context (its own database session)."""

    flask_app: Flask | None = None

    def perform_job(self, job, queue, execution):
        # A job may write: its transactions take SQLite's write lock up front (portal/database.py).
        with self.flask_app.app_context(), database.writing():
            try:
                return super().perform_job(job, queue, execution)
            finally:
                db.session.remove()


class ThreadWorker(AppWorker):
    """The embedded worker: lives in a daemon thread, so no signals and a timer-based timeout."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):
        pass


def make_worker(app: Flask, worker_class: type[AppWorker] = AppWorker, queues=QUEUE_NAMES) -> AppWorker:
    worker = worker_class([queue(name, app) for name in queues], connection=connection(app))
    worker.flask_app = app
    return worker


def run_burst(app: Flask) -> bool:
    """Process every job that is ready now, in this thread; returns whether any ran (tests, CLI)."""
    return make_worker(app, ThreadWorker).work(burst=True, with_scheduler=True, logging_level="WARNING")


class EmbeddedWorker:
    """The embedded mode's worker thread: runs ready jobs and the cron schedule, wakes on enqueue."""

    def __init__(self, app: Flask, scheduler: CronScheduler, poll_seconds: float):
        self.app, self.scheduler, self.poll_seconds = app, scheduler, poll_seconds
        self.wake = app.extensions.setdefault("portal_worker_wake", threading.Event())
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="portal-embedded-worker", daemon=True)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.scheduler.enqueue_jobs()
                run_burst(self.app)
            except Exception:  # keep the thread alive: one bad job must not stop all the others
                log.exception("embedded worker loop failed")
            self.wake.wait(self.poll_seconds)
            self.wake.clear()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        self.thread.join(10)


def start_embedded_worker(app: Flask, scheduler: CronScheduler, *, poll_seconds: float = 1.0) -> EmbeddedWorker:
    """Start the in-process worker for the embedded mode (no REDIS_URL); it also runs the cron."""
    worker = EmbeddedWorker(app, scheduler, poll_seconds)
    worker.thread.start()
    return worker
