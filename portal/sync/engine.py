"""The sync engine's entry points, what the jobs and the CLI run: `push`, `pull` and `full_sync`.

`portal.sync.push` sends dirty referrals to HubSpot in batches; `portal.sync.pull` applies the deals
HubSpot changed since the watermark. `full_sync` (hourly, or "Run full sync") links every referral,
pulls, then re-pushes everything linked (only changes cost a call).
"""
from __future__ import annotations

from sqlalchemy import func, update

from portal.extensions import db
from portal.models import CrmConnection, CrmLink, Referral
from portal.models.crm import LinkState
from portal.models.types import utcnow
from portal.sync.http import CrmError
from portal.sync.pull import PullStats, pull  # noqa: F401 - entry point, called as engine.pull
from portal.sync.push import PushStats, push  # noqa: F401 - entry point, called as engine.push


def full_sync(connection_id: int) -> PushStats:
    """The hourly sync: link every referral, pull what HubSpot changed, push what the portal changed."""
    connection = db.session.get(CrmConnection, connection_id)
    if connection is None or not connection.active:
        return PushStats()
    _link_all(connection)
    connection.full_sync_started_at, connection.full_sync_finished_at = utcnow(), None
    connection.full_sync_done = 0
    connection.full_sync_total = db.session.scalar(db.select(func.count(CrmLink.id)).where(
        CrmLink.connection_id == connection.id, CrmLink.state != LinkState.UNLINKED.value))
    connection.settings = {k: v for k, v in (connection.settings or {}).items() if k != "full_sync_error"}
    db.session.commit()
    try:
        return _full_sync_steps(connection_id)
    except Exception as err:
        # Finish it as failed, or the settings page would show it running (and poll) forever.
        db.session.rollback()
        connection = db.session.get(CrmConnection, connection_id)
        connection.full_sync_finished_at = utcnow()
        connection.settings = {**(connection.settings or {}),
                               "full_sync_error": (err.message if isinstance(err, CrmError) else str(err))[:500]}
        db.session.commit()
        raise


def _full_sync_steps(connection_id: int) -> PushStats:
    pull(connection_id)
    # Every linked referral is re-checked; unchanged deals cost no call (only changes are sent).
    table = CrmLink.__table__
    db.session.execute(update(table).where(table.c.connection_id == connection_id,
                                           table.c.state != LinkState.UNLINKED.value)
                       .values(dirty=True, version=table.c.version + 1))
    db.session.commit()

    def progress(count: int) -> None:
        db.session.execute(update(CrmConnection.__table__).where(CrmConnection.__table__.c.id == connection_id)
                           .values(full_sync_done=CrmConnection.__table__.c.full_sync_done + count))
        db.session.commit()

    stats = push(connection_id, on_batch=progress)
    connection = db.session.get(CrmConnection, connection_id)
    connection.full_sync_finished_at = utcnow()
    connection.full_sync_done = connection.full_sync_total
    db.session.commit()
    return stats


def _link_all(connection: CrmConnection) -> None:
    """A link (dirty) for every referral that has none with this connection yet."""
    linked = db.select(CrmLink.entity_id).where(CrmLink.connection_id == connection.id,
                                                CrmLink.entity_type == "referral")
    ids = list(db.session.scalars(db.select(Referral.id).where(Referral.id.not_in(linked))))
    if ids:
        now = utcnow()
        db.session.execute(CrmLink.__table__.insert(), [
            {"connection_id": connection.id, "entity_type": "referral", "entity_id": i, "crm_object": "deals",
             "state": LinkState.PENDING.value, "dirty": True, "version": 1, "pushed_values": {},
             "remote_values": {}, "created_at": now, "updated_at": now} for i in ids])
        db.session.commit()
