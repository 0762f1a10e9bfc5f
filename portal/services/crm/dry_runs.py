"""The sync dry run as a use case: an internal admin asks "what would this sync do" for a
connection; the job (`portal.jobs.tasks.crm_dry_run`) computes it with read calls only and the
connection's dry-run page shows its progress, counts and one page of records at a time."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete

from portal.errors import DomainError
from portal.extensions import db
from portal.jobs import queues
from portal.models import CrmConnection, CrmDryRun, CrmDryRunItem, DryRunStatus, User
from portal.services.crm import scheduling

DRY_RUN_JOB = "portal.jobs.tasks.crm_dry_run"
ACTIONS = (("create", "Create"), ("update", "Update"), ("link", "Link to an existing record"),
           ("skip", "Skip (nothing changed)"), ("error", "Cannot be synced"))


def start_dry_run(connection: CrmConnection, *, by: User | None) -> CrmDryRun:
    """Queue a new dry run of the connection (the previous one is replaced); a run still going is
    returned as it is (and queued again, in case its worker died)."""
    current = latest_dry_run(connection)
    if current is not None and current.running:
        _enqueue(current, after_commit=False)
        return current
    db.session.execute(delete(CrmDryRun).where(CrmDryRun.connection_id == connection.id))
    dry_run = CrmDryRun(connection_id=connection.id, requested_by_id=by.id if by else None,
                        status=DryRunStatus.QUEUED.value, counts={})
    db.session.add(dry_run)
    db.session.flush()
    _enqueue(dry_run, after_commit=True)
    db.session.commit()
    return dry_run


def _enqueue(dry_run: CrmDryRun, *, after_commit: bool) -> None:
    job_id = f"crm-dry-run-{dry_run.id}"
    if after_commit:
        queues.enqueue_after_commit(DRY_RUN_JOB, dry_run.id, queue="sync", job_id=job_id, job_timeout=3600)
    elif not queues.enqueue_now(DRY_RUN_JOB, dry_run.id, queue="sync", job_id=job_id, job_timeout=3600):
        scheduling.queues_job_cleanup(job_id)
        queues.enqueue_now(DRY_RUN_JOB, dry_run.id, queue="sync", job_id=job_id, job_timeout=3600)


def redrive_dry_runs() -> int:
    """For the sweep: queue again every dry run shown as queued or running whose job was lost (a
    killed worker, a Redis restart); one still queued or running is left alone (coalesced by job id)."""
    runs = list(db.session.scalars(db.select(CrmDryRun).where(
        CrmDryRun.status.in_((DryRunStatus.QUEUED.value, DryRunStatus.RUNNING.value)))))
    for dry_run in runs:
        _enqueue(dry_run, after_commit=False)
    return len(runs)


def latest_dry_run(connection: CrmConnection) -> CrmDryRun | None:
    return db.session.scalar(db.select(CrmDryRun).where(CrmDryRun.connection_id == connection.id)
                             .order_by(CrmDryRun.id.desc()).limit(1).execution_options(populate_existing=True))


@dataclass
class DryRunView:
    """What the dry-run page shows: the run, its record counts in a fixed order, the objects' counts."""

    run: CrmDryRun | None

    @property
    def percent(self) -> int:
        if self.run is None or not self.run.total:
            return 0 if self.run is None or self.run.running else 100
        return min(100, round(100 * self.run.done / self.run.total))

    @property
    def record_counts(self) -> list[tuple[str, str, int]]:
        found = (self.run.counts or {}).get("records", {}) if self.run else {}
        return [(key, label, found.get(key, 0)) for key, label in ACTIONS]

    @property
    def left_out(self) -> list[str]:
        """The entity types the connection syncs that the dry run does not cover yet ("organization")."""
        return [name.replace("_", " ") for name in ((self.run.counts or {}).get("left_out", []) if self.run else [])]

    @property
    def object_counts(self) -> list[tuple[str, list[int]]]:
        """(CRM object, its counts in ACTIONS order), for the objects the run met."""
        found = (self.run.counts or {}).get("objects", {}) if self.run else {}
        return [(name, [by_action.get(key, 0) for key, _ in ACTIONS]) for name, by_action in sorted(found.items())]


def dry_run_view(connection: CrmConnection) -> DryRunView:
    return DryRunView(latest_dry_run(connection))


def dry_run_items(dry_run: CrmDryRun, *, action: str | None = None, page: int = 1, per_page: int = 25):
    """One page of the run's records (a Flask-SQLAlchemy Pagination), in the order they were planned.
    Raises DomainError for an unknown action filter."""
    if action and action not in dict(ACTIONS):
        raise DomainError("Choose one of the listed actions.", field="action")
    query = db.select(CrmDryRunItem).where(CrmDryRunItem.dry_run_id == dry_run.id)
    if action:
        query = query.where(CrmDryRunItem.action == action)
    return db.paginate(query.order_by(CrmDryRunItem.id), page=max(page, 1), per_page=per_page, error_out=False,
                       count=True)
