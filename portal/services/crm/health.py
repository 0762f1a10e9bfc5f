"""The health of the CRM connections as the admins hear it: once when one keeps failing for more
than 15 minutes, once when it works again (the engine records failing_since and the last error)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from portal.extensions import db
from portal.models import CrmConnection
from portal.models.types import utcnow
from portal.services import notifications

FAILING_FOR = timedelta(minutes=15)


def report() -> int:
    """Tell the admins about connections that started or stopped failing for good; returns how many
    notices went out. The notice is claimed by a guarded update, so two sweeps never send it twice."""
    now = utcnow()
    table = CrmConnection.__table__
    sent = 0
    failing = list(db.session.scalars(db.select(CrmConnection).where(
        CrmConnection.failing_since.is_not(None), CrmConnection.failing_since <= now - FAILING_FOR,
        CrmConnection.failure_notified_at.is_(None))))
    for connection in failing:
        claimed = db.session.execute(update(table).where(table.c.id == connection.id,
                                                         table.c.failure_notified_at.is_(None))
                                     .values(failure_notified_at=now)).rowcount
        if claimed:
            notifications.crm_connection_failing(connection)
            sent += 1
    recovered = list(db.session.scalars(db.select(CrmConnection).where(
        CrmConnection.failing_since.is_(None), CrmConnection.failure_notified_at.is_not(None))))
    for connection in recovered:
        claimed = db.session.execute(update(table).where(table.c.id == connection.id,
                                                         table.c.failing_since.is_(None),
                                                         table.c.failure_notified_at.is_not(None))
                                     .values(failure_notified_at=None)).rowcount
        if claimed:
            notifications.crm_connection_recovered(connection)
            sent += 1
    db.session.commit()
    return sent
