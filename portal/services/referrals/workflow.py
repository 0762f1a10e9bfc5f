"""The one place a referral changes status: checks the move, records the StatusEvent."""
from __future__ import annotations

from portal.models import Referral, StatusEvent, User
from portal.extensions import db
from portal.services import crm, statuses


def transition(referral: Referral, *, to: str, by: User | None, actor_label: str | None = None,
               reason: str | None = None) -> StatusEvent:
    """Move `referral` to status key `to` (checked against the workflow); never commits."""
    target = statuses.get(to)
    statuses.check_move(referral.stage, target.stage)
    event = StatusEvent(entity_type="referral", entity_id=referral.id, from_status=referral.status,
                        to_status=target.key, actor=by, actor_label=actor_label, reason=reason)
    referral.status, referral.stage = target.key, target.stage
    db.session.add(event)
    crm.mark_dirty(referral)
    return event


def record_creation(referral: Referral, *, by: User | None, actor_label: str | None) -> StatusEvent:
    event = StatusEvent(entity_type="referral", entity_id=referral.id, from_status=None,
                        to_status=referral.status, actor=by, actor_label=actor_label)
    db.session.add(event)
    crm.mark_dirty(referral)
    return event
