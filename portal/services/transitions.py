"""The one way a record changes status: referrals, leads, and (next) deal registrations.

Each area declares its `Workflow` (which state may follow which, and how a refusal reads); `move`
checks the move against it, writes the `StatusEvent` with the actor and the reason (the timeline
people see, and the audit trail), then changes the record's status. Nothing here commits: the use
case that moves a record commits once, so several moves (a deal won, its referral won) can share
one transaction.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from portal.errors import InvalidTransition
from portal.extensions import db
from portal.models import StatusEvent, User


@dataclass(frozen=True)
class Workflow:
    """The allowed moves of one kind of record.

    `state_attr` names the attribute the moves speak of: a lead's `status` itself; a referral's
    `stage`, the fixed meaning behind the status name admins chose (one stage, several statuses).
    """

    entity_type: str  # StatusEvent.entity_type
    moves: Mapping[str, frozenset[str]]  # state -> the states it may become
    refusal: Callable[[str, str], str]  # (from, to) -> the message a refused move shows
    state_attr: str = "status"

    def allows(self, from_state: str, to_state: str) -> bool:
        return to_state in self.moves.get(from_state, frozenset())

    def check(self, from_state: str, to_state: str) -> None:
        """Raises InvalidTransition, worded for the person who tried, unless the move is allowed."""
        if not self.allows(from_state, to_state):
            raise InvalidTransition(self.refusal(from_state, to_state))

    def check_record(self, record, to_state: str) -> None:
        self.check(getattr(record, self.state_attr), to_state)


def move(workflow: Workflow, record, *, to: str, to_state: str | None = None, by: User | None,
         actor_label: str | None = None, reason: str | None = None) -> StatusEvent:
    """Move `record` to status `to` (whose state is `to_state`, by default `to` itself); never commits.

    Raises InvalidTransition before anything changes. `by` is the user who acted; `actor_label`
    names who acted when no user did ("HubSpot", "Respond-by date passed").
    """
    to_state = to_state or to
    workflow.check_record(record, to_state)
    event = StatusEvent(entity_type=workflow.entity_type, entity_id=record.id, from_status=record.status,
                        to_status=to, actor=by, actor_label=actor_label, reason=reason)
    record.status = to
    setattr(record, workflow.state_attr, to_state)
    db.session.add(event)
    return event


def record_creation(workflow: Workflow, record, *, by: User | None, actor_label: str | None = None,
                    reason: str | None = None) -> StatusEvent:
    """The first step of a new record's timeline (it has an id: flush first); never commits."""
    event = StatusEvent(entity_type=workflow.entity_type, entity_id=record.id, from_status=None,
                        to_status=record.status, actor=by, actor_label=actor_label, reason=reason)
    db.session.add(event)
    return event
