"""Queueing sync work: marking referrals dirty, the coalesced push/pull/full-sync jobs, "Sync now",
unlinking, and the sweep's re-drive of pending pushes.

`mark_dirty(referral)` runs inside the caller's transaction: it marks the referral's `CrmLink` dirty
(creating it) and enqueues the coalesced push job `crm-push-{id}` (RQ job ids allow no colon) after
the commit (DESIGN.md §2).
"""
from __future__ import annotations

import contextlib
import contextvars

from rq import Retry
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from sqlalchemy import func

from portal.jobs import queues
from portal.errors import DomainError
from portal.extensions import db
from portal.models import CrmConnection, CrmLink, Referral, SyncLog
from portal.models.crm import LinkState, SyncTrigger
from portal.models.types import utcnow
from portal.services import read_cache
from portal.services.crm import reading
from portal.sync import connectors

PUSH_JOB = "portal.jobs.tasks.crm_push"
PULL_JOB = "portal.jobs.tasks.crm_pull"
FULL_SYNC_JOB = "portal.jobs.tasks.crm_full_sync"
INITIAL_SYNC_JOB = "portal.jobs.tasks.initial_sync"
INITIAL_SYNC_PENDING = connectors.base.INITIAL_SYNC_PENDING

# The connection whose changes are being applied by a pull: marking its own link dirty again
# would push the CRM's value straight back to it (ping-pong).
_pulling: contextvars.ContextVar[int | None] = contextvars.ContextVar("crm_pulling", default=None)


def _auto_connection_ids() -> tuple[int, ...]:
    # Every referral change asks: cached per process behind the connections' stamp (read_cache).
    return read_cache.cached(read_cache.CRM_CONNECTIONS, "auto", lambda: tuple(db.session.scalars(db.select(
        CrmConnection.id).where(CrmConnection.active.is_(True), CrmConnection.sync_trigger == SyncTrigger.AUTO.value))))


def mark_dirty(referral: Referral) -> None:
    """In the caller's transaction: the referral's links to every automatic connection become dirty,
    and one coalesced push per connection is enqueued after the commit. Never commits."""
    ids = _auto_connection_ids()
    if not ids:
        return
    skip = _pulling.get()
    for connection_id in ids:
        if connection_id == skip:
            continue
        _mark(referral, connection_id, force=False)


def _mark(record, connection_id: int, *, force: bool, entity_type: str = "referral",
          crm_object: str = "deal") -> CrmLink | None:
    if record.id is None:
        db.session.flush()
    link = db.session.scalar(db.select(CrmLink).where(
        CrmLink.connection_id == connection_id, CrmLink.entity_type == entity_type, CrmLink.entity_id == record.id))
    if link is None:
        link = CrmLink(connection_id=connection_id, entity_type=entity_type, entity_id=record.id,
                       crm_object=crm_object, dirty=True, version=1, state=LinkState.PENDING.value,
                       pushed_values={}, remote_values={})
        db.session.add(link)
    elif link.state == LinkState.UNLINKED.value and not force:
        return None  # unlinked by a person: only a person re-links it (sync_now)
    else:
        link.dirty = True
        link.version = (link.version or 0) + 1
        if link.state in (LinkState.UNLINKED.value, LinkState.ERROR.value):
            link.state = LinkState.PENDING.value
    schedule_push(connection_id)
    return link


def schedule_push(connection_id: int, *, after_commit: bool = True) -> bool:
    """Enqueue the coalesced push of a connection's dirty records (after the commit by default)."""
    enqueue = queues.enqueue_after_commit if after_commit else queues.enqueue_now
    return enqueue(PUSH_JOB, connection_id, queue="sync", job_id=f"crm-push-{connection_id}",
                   retry=_retry()) is not False


def _retry():
    return Retry(max=5, interval=[10, 30, 60, 120, 300])


def schedule_pull(connection_id: int) -> bool:
    """Enqueue an early pull now (a webhook arrived); coalesced per connection."""
    return queues.enqueue_now(PULL_JOB, connection_id, queue="sync", job_id=f"crm-pull-{connection_id}",
                              retry=_retry())


def start_full_sync(connection: CrmConnection) -> bool:
    """Ask for a full sync of a connection now (the hourly one runs on its own); a finished or failed
    run's job never blocks the next one. False when it cannot be queued right now (the sweep tries again).
    A connection whose initial sync has not finished (its job lost with a worker) runs that instead:
    it reads everything first, where a full sync would push over values the master keeps."""
    if (connection.options or {}).get(INITIAL_SYNC_PENDING):
        return _kick(INITIAL_SYNC_JOB, connection.id, job_id=f"crm-initial-sync-{connection.id}", job_timeout=3600)
    return _kick(FULL_SYNC_JOB, connection.id, job_id=f"crm-full-sync-{connection.id}", job_timeout=3600)


def run_full_sync(connection: CrmConnection) -> reading.Progress:
    """A person presses "Run full sync": it is shown as queued from now on (the progress fragment polls
    until the job finishes) and queued after the commit; if Redis cannot take it at this moment, the
    sweep starts it within a minute. Raises DomainError only for an inactive connection."""
    if not connection.active:
        raise DomainError("Turn the connection on before running a full sync.")
    current = reading.progress(connection)
    if current.running:
        start_full_sync(connection)  # a run lost with its worker starts again; a live one is left alone
        return current
    # The job sets these again when it starts; until then the page shows it as queued (total 0).
    connection.full_sync_started_at, connection.full_sync_finished_at = utcnow(), None
    connection.full_sync_done = connection.full_sync_total = 0
    db.session.commit()
    start_full_sync(connection)
    return reading.progress(connection)


def kick_push(connection_id: int) -> bool:
    """Make sure a push of the connection is queued or running now: a push that waits for a retry
    later (RQ's backoff while the CRM was down) or that RQ gave up is replaced by one that runs now."""
    return _kick(PUSH_JOB, connection_id, job_id=f"crm-push-{connection_id}", retry=_retry())


def _kick(func: str, *args, job_id: str, **options) -> bool:
    if queues.enqueue_now(func, *args, queue="sync", job_id=job_id, **options):
        return True
    queues_job_cleanup(job_id)
    return queues.enqueue_now(func, *args, queue="sync", job_id=job_id, **options)


def sync_now(referral: Referral) -> list[CrmLink]:
    """A person asks: push this referral to every active connection at once (re-links an unlinked one)."""
    connections = list(db.session.scalars(db.select(CrmConnection).where(CrmConnection.active.is_(True))))
    if not connections:
        raise DomainError("No CRM connection is set up.")
    links = [_mark(referral, c.id, force=True) for c in connections]
    db.session.commit()
    for connection in connections:  # a push attempt now, even if an earlier one waits for its retry
        kick_push(connection.id)
    return [link for link in links if link is not None]


def unlink(referral: Referral, connection: CrmConnection | None = None, *, entity_type: str = "referral",
           noun: str = "referral") -> None:
    """Forget the referral's (or another record's) CRM record; later syncs leave it alone until a
    person asks (sync_now)."""
    query = db.select(CrmLink).where(CrmLink.entity_type == entity_type, CrmLink.entity_id == referral.id)
    if connection is not None:
        query = query.where(CrmLink.connection_id == connection.id)
    links = list(db.session.scalars(query))
    if not links:
        raise DomainError(f"This {noun} is not linked to a CRM record.")
    for link in links:
        connector = connectors.get(link.connection.provider)
        record = f"{connector.label} {connector.object_labels.get(link.crm_object, 'record').lower()} {link.crm_id}"
        db.session.add(SyncLog(connection_id=link.connection_id, entity_type=entity_type, entity_id=referral.id,
                               direction="push", action="unlink", status="ok",
                               message=f"Unlinked from {record}" if link.crm_id else "Unlinked"))
        link.state = LinkState.UNLINKED.value
        link.dirty = False
        link.crm_id = link.contact_crm_id = link.company_crm_id = link.associated_key = link.url = None
        link.pushed_values, link.remote_values, link.remote_modified_ms = {}, {}, None
        link.last_error = None
    db.session.commit()


def current_pull() -> int | None:
    """The connection whose changes are being applied right now, if any."""
    return _pulling.get()


def pulling_connection() -> int | None:
    """The connection whose changes are being applied right now (inside `pulling`), if any."""
    return _pulling.get()


def mark(record, connection_id: int, *, force: bool, entity_type: str, crm_object: str) -> CrmLink | None:
    """In the caller's transaction: the record's link to the connection is dirty (created if need be)
    and one coalesced push follows the commit; an unlinked one stays so unless `force`. Never commits."""
    return _mark(record, connection_id, force=force, entity_type=entity_type, crm_object=crm_object)


@contextlib.contextmanager
def pulling(connection_id: int):
    """Changes made inside come from this connection: do not push them back to it."""
    marker = _pulling.set(connection_id)
    try:
        yield
    finally:
        _pulling.reset(marker)


# ---- the sweep ------------------------------------------------------------------------------

def pending_connection_ids() -> list[int]:
    """Connections with links still to push (dirty, or associations not confirmed)."""
    query = (db.select(CrmLink.connection_id).join(CrmConnection, CrmConnection.id == CrmLink.connection_id)
             .where(CrmConnection.active.is_(True), CrmLink.state != LinkState.UNLINKED.value,
                    db.or_(CrmLink.dirty.is_(True),
                           db.and_(CrmLink.crm_id.is_not(None),
                                   func.coalesce(CrmLink.associated_key, "") !=
                                   func.coalesce(CrmLink.contact_crm_id, "") + ":" +
                                   func.coalesce(CrmLink.company_crm_id, ""))))
             .distinct())
    return list(db.session.scalars(query))


def redrive() -> int:
    """For the sweep: a push attempt now for every connection the database says has pending work
    (however long the CRM was away, the pushes go within one sweep of it answering again), and the
    full syncs shown as queued or running whose job was lost. Returns the pushes re-driven."""
    count = 0
    for connection_id in pending_connection_ids():
        kick_push(connection_id)
        count += 1
    unfinished = db.session.scalars(db.select(CrmConnection).where(
        CrmConnection.active.is_(True), CrmConnection.full_sync_started_at.is_not(None),
        CrmConnection.full_sync_finished_at.is_(None)))
    for connection in unfinished:
        start_full_sync(connection)
    return count


# RQ statuses of a job that will not run by itself soon: waiting for a retry later, or over.
_REPLACEABLE = (JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.FAILED, JobStatus.STOPPED,
                JobStatus.CANCELED, JobStatus.FINISHED)


def queues_job_cleanup(job_id: str) -> None:
    """Free a coalesced job id held by a job that is not queued or running (a job whose worker died
    is moved to the failed registry by the cleanup first)."""
    conn = queues.connection()
    try:
        StartedJobRegistry("sync", connection=conn).cleanup()
        job = Job.fetch(job_id, connection=conn)
        if job.get_status(refresh=True) in _REPLACEABLE:
            job.delete()
    except Exception:  # noqa: BLE001 - a missing job or an unreachable Redis: the next sweep tries again
        return
