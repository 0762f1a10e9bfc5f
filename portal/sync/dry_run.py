"""The sync dry run: what the full sync's push would do to every record of a connection — create,
update (which fields, old → new), link to a record the CRM already holds, or skip — with counts,
computed with read calls only and stored as a `CrmDryRun` for the admin to read.

It walks the records the way the full sync does (every record of the connector's entity types,
linked or not, but not those a person unlinked), builds each batch with the engine's own
`build_batch`, and asks the connector's `plan`, which decides with the very code its push decides
with. Nothing is written but the dry run's own rows: the links it hands the connector are copies
that never enter the session, so no link, `CrmCompany` or watermark changes, and the connector
makes no write call. What the full sync's pull would first bring back from the CRM is not part of
the plan (the push is planned against the links as they are now).
"""
from __future__ import annotations

import copy

from sqlalchemy import and_, delete, func, or_, update

from portal.errors import DomainError
from portal.extensions import db
from portal.models import CrmConnection, CrmDryRun, CrmDryRunItem, CrmLink, DryRunStatus
from portal.models.crm import LinkState
from portal.models.types import utcnow
from portal.sync import connectors, engine, entities
from portal.sync.connectors.base import Batch, Planned
from portal.sync.http import CrmError

ACTIONS = ("create", "update", "link", "skip", "error")


def run(dry_run_id: int) -> CrmDryRun | None:
    """Carry out one dry run. A finished run is left alone; one whose worker died starts again.
    A CRM failure is recorded on the run (shown on its page) and re-raised."""
    dry_run = db.session.get(CrmDryRun, dry_run_id)
    if dry_run is None or not dry_run.running:
        return dry_run
    connection = db.session.get(CrmConnection, dry_run.connection_id)
    connector = connectors.for_connection(connection)
    synced = engine.entities_of(connector, connection.options or {})
    kinds = [e for e in synced if e.name in getattr(connector, "planned_entities", ())]
    db.session.execute(delete(CrmDryRunItem).where(CrmDryRunItem.dry_run_id == dry_run_id))
    dry_run.status, dry_run.started_at, dry_run.finished_at = DryRunStatus.RUNNING.value, utcnow(), None
    options = dict(connection.options or {})
    dry_run.total = sum(_count(connection.id, entity, options) for entity in kinds)
    counts = _empty_counts()
    counts["left_out"] = [e.name for e in synced if e not in kinds]
    dry_run.done, dry_run.counts, dry_run.calls, dry_run.error = 0, copy.deepcopy(counts), 0, None
    db.session.commit()  # the CRM is called with no transaction open
    try:
        for entity in kinds:
            after_id = 0
            while (fetched := _fetch(connection.id, entity, options, connector, after_id)) is not None:
                batch, labels, after_id = fetched
                planned = connector.plan(batch) if batch.items else []
                _record(dry_run_id, batch, labels, planned, counts, connector.calls)
    except Exception as err:
        # Finish it as failed, or the page would show it running (and poll) forever.
        db.session.rollback()
        _finish(dry_run_id, DryRunStatus.FAILED, error=_explain(err, connector.label)[:2000], calls=connector.calls)
        raise
    return _finish(dry_run_id, DryRunStatus.DONE, calls=connector.calls)


def _explain(err: Exception, label: str) -> str:
    if isinstance(err, CrmError):
        return engine.describe(err, label)
    if isinstance(err, DomainError):
        return err.message
    return f"The dry run stopped on an unexpected error ({type(err).__name__}); the worker's log has the details."


def _finish(dry_run_id: int, status: DryRunStatus, **values) -> CrmDryRun:
    table = CrmDryRun.__table__
    db.session.execute(update(table).where(table.c.id == dry_run_id)
                       .values(status=status.value, finished_at=utcnow(), **values))
    db.session.commit()
    return db.session.get(CrmDryRun, dry_run_id)


def _records(connection_id: int, entity: entities.Entity, options: dict):
    """The records the full sync pushes, with their link to the connection, if any: every record of
    the entity type (only the linked ones of a type the full sync does not link all of), but not
    those a person unlinked."""
    link = and_(CrmLink.connection_id == connection_id, CrmLink.entity_type == entity.name,
                CrmLink.entity_id == entity.model.id)
    if not entity.link_all:
        return entity.all_ids(options).join(CrmLink, link).where(CrmLink.state != LinkState.UNLINKED.value)
    return (entity.all_ids(options).outerjoin(CrmLink, link)
            .where(or_(CrmLink.id.is_(None), CrmLink.state != LinkState.UNLINKED.value)))


def _count(connection_id: int, entity: entities.Entity, options: dict) -> int:
    return db.session.scalar(db.select(func.count()).select_from(_records(connection_id, entity, options).subquery()))


def _fetch(connection_id: int, entity: entities.Entity, options: dict, connector, after_id: int):
    """The next batch, read in one short transaction, with copies of the links (a record not linked
    yet gets a new one) that never enter the session: whatever the connector does to them stays here."""
    rows = db.session.execute(_records(connection_id, entity, options).add_columns(CrmLink)
                              .where(entity.model.id > after_id).order_by(entity.model.id)
                              .limit(connector.batch_size)).all()
    if not rows:
        db.session.commit()
        return None
    links = [_copy(link) if link is not None else _new_link(connection_id, entity, record_id)
             for record_id, link in rows]
    batch, records = engine.build_batch(entity, connector, links)
    labels = {str(record_id): entity.label(record) for record_id, record in records.items()}
    db.session.commit()
    return batch, labels, rows[-1][0]


def _copy(link: CrmLink) -> CrmLink:
    return CrmLink(id=link.id, connection_id=link.connection_id, entity_type=link.entity_type,
                   entity_id=link.entity_id, crm_object=link.crm_object, crm_id=link.crm_id,
                   contact_crm_id=link.contact_crm_id, company_crm_id=link.company_crm_id, state=link.state,
                   dirty=link.dirty, version=link.version, associated_key=link.associated_key,
                   pushed_values=copy.deepcopy(link.pushed_values or {}),
                   remote_values=copy.deepcopy(link.remote_values or {}), url=link.url)


def _new_link(connection_id: int, entity: entities.Entity, record_id: int) -> CrmLink:
    # A negative id keeps it apart from every real link in what the connector keys by link id.
    return CrmLink(id=-record_id, connection_id=connection_id, entity_type=entity.name, entity_id=record_id,
                   crm_object=entity.crm_object, state=LinkState.PENDING.value, dirty=True, version=1,
                   pushed_values={}, remote_values={})


def _record(dry_run_id: int, batch: Batch, labels: dict[str, str], planned: list[Planned], counts: dict,
            calls: int) -> None:
    """One batch's plans as rows, and the run's counts and progress, in one transaction."""
    by_id = {p.portal_id: p for p in planned}
    rows = []
    for item in batch.items:
        plan = by_id.get(item.portal_id) or Planned(item.portal_id, "error", batch.crm_object,
                                                     message="The connector gave no answer for it.")
        _add(counts, plan)
        rows.append({"dry_run_id": dry_run_id, "entity_type": batch.entity, "entity_id": int(item.portal_id),
                     "label": labels.get(item.portal_id, item.portal_id)[:120], "action": plan.action,
                     "crm_object": plan.crm_object, "crm_id": plan.crm_id, "changes": _changes(plan),
                     "related": [{"action": r.action, "crm_object": r.crm_object, "crm_id": r.crm_id,
                                  "changes": _changes(r), "message": r.message} for r in plan.related],
                     "message": plan.message or None})
    if rows:
        db.session.execute(CrmDryRunItem.__table__.insert(), rows)
    table = CrmDryRun.__table__
    db.session.execute(update(table).where(table.c.id == dry_run_id)
                       .values(done=table.c.done + len(rows), counts=copy.deepcopy(counts), calls=calls))
    db.session.commit()


def _empty_counts() -> dict:
    return {"records": {action: 0 for action in ACTIONS}, "objects": {}}


def _add(counts: dict, plan: Planned) -> None:
    counts["records"][plan.action] = counts["records"].get(plan.action, 0) + 1
    for p in (plan, *plan.related):
        by_action = counts["objects"].setdefault(p.crm_object, {})
        by_action[p.action] = by_action.get(p.action, 0) + 1


def _changes(plan: Planned) -> list:
    return [[c.name, _plain(c.old), _plain(c.new)] for c in plan.changes]


def _plain(value):
    """JSON-safe: CRM values are strings, numbers, booleans or None."""
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)

