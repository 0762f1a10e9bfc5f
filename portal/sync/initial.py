"""The initial sync of entity types a connection starts syncing (organization sync, after the
matching wizard): link every record of those types that has no link yet, read everything the CRM
has for them (not only what changed since the watermark: the linked records' values are new to
the portal), then push them all. Who wins a value both sides hold is the connection's master
option (the entity's `master_option`), each conflict in the integration log. Progress goes to the
connection's full-sync fields; a second run finds every record linked and creates nothing.
"""
from __future__ import annotations

from sqlalchemy import func, update

from portal.extensions import db
from portal.models import CrmConnection, CrmLink, SyncLog
from portal.models.crm import LinkState
from portal.models.types import utcnow
from portal.sync import connectors, engine

# The entity types whose initial sync a service started (services/crm/org_sync.py), cleared once it
# finished: until then other pushes leave them alone, and the sweep and the hourly sync run the
# initial sync again, not a full sync.
PENDING_OPTION = engine.INITIAL_SYNC_PENDING


def initial_sync(connection_id: int, entity_names: tuple[str, ...]) -> engine.PushStats:
    """Pull everything, then push everything, of the named entity types of one connection."""
    connection = db.session.get(CrmConnection, connection_id)
    if connection is None or not connection.active:
        return engine.PushStats()
    options = dict(connection.options or {})
    names = tuple(n for n in entity_names if connectors.syncs(connectors.get(connection.provider), n, options))
    engine.link_all(connection, names)
    connection.full_sync_started_at, connection.full_sync_finished_at = utcnow(), None
    connection.full_sync_done = 0
    connection.full_sync_total = _live_links(connection_id, names)
    connection.options = {k: v for k, v in options.items() if k != "full_sync_error"}
    db.session.commit()
    try:
        pulled = engine.pull(connection_id, entity_names=names, since_ms=0)
        table = CrmLink.__table__
        db.session.execute(update(table).where(table.c.connection_id == connection_id,
                                               table.c.entity_type.in_(names),
                                               table.c.state != LinkState.UNLINKED.value)
                           .values(dirty=True, version=table.c.version + 1))
        # What the pull made counts too: the total is every live link once the pull is over.
        db.session.execute(update(CrmConnection.__table__).where(CrmConnection.__table__.c.id == connection_id)
                           .values(full_sync_total=_live_links(connection_id, names)))
        db.session.commit()
        stats = engine.push(connection_id, on_batch=lambda count: _progress(connection_id, count), initial=names)
    except Exception as err:
        db.session.rollback()
        connection = db.session.get(CrmConnection, connection_id)
        connection.full_sync_finished_at = utcnow()
        message = engine._full_sync_error(err, connection.provider)[:500]
        connection.options = {**(connection.options or {}), "full_sync_error": message}
        db.session.add(SyncLog(connection_id=connection_id, direction="push", action="initial sync", status="error",
                               message=f"The initial sync stopped: {message}"))
        db.session.commit()
        raise
    connection = db.session.get(CrmConnection, connection_id)
    connection.full_sync_finished_at = utcnow()
    connection.full_sync_done = connection.full_sync_total
    connection.options = {k: v for k, v in (connection.options or {}).items() if k != PENDING_OPTION}
    db.session.add(SyncLog(connection_id=connection_id, direction="push", action="initial sync", status="ok",
                           message=(f"Initial sync done: {pulled.applied} records read in, {stats.created} created "
                                    f"in the CRM, {stats.pushed - stats.created} updated, "
                                    f"{stats.errors + pulled.errors} errors (listed above).")))
    db.session.commit()
    return stats


def _live_links(connection_id: int, names: tuple[str, ...]) -> int:
    return db.session.scalar(db.select(func.count(CrmLink.id)).where(
        CrmLink.connection_id == connection_id, CrmLink.entity_type.in_(names),
        CrmLink.state != LinkState.UNLINKED.value)) or 0


def _progress(connection_id: int, count: int) -> None:
    table = CrmConnection.__table__
    db.session.execute(update(table).where(table.c.id == connection_id)
                       .values(full_sync_done=table.c.full_sync_done + count))
    db.session.commit()
