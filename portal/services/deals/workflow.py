"""A deal registration's moves, for the shared transition mechanism (services/transitions.py)."""
from __future__ import annotations

from portal.extensions import db
from portal.models import DealRegistration, DealStatus, StatusEvent, User
from portal.models.deals import DEAL_STATUS_LABELS
from portal.services import transitions

D = DealStatus


def _refusal(from_status: str, to_status: str) -> str:
    return (f"A registration that is {DEAL_STATUS_LABELS[DealStatus(from_status)].lower()} "
            f"cannot become {DEAL_STATUS_LABELS[DealStatus(to_status)].lower()}.")


# DESIGN.md §5: submitted → pre_approved → approved | rejected; approved → won | lost | expired.
# Approving straight from submitted skips the optional pre-approval.
WORKFLOW = transitions.Workflow(entity_type="deal", refusal=_refusal, moves={
    D.SUBMITTED.value: frozenset({D.PRE_APPROVED.value, D.APPROVED.value, D.REJECTED.value}),
    D.PRE_APPROVED.value: frozenset({D.APPROVED.value, D.REJECTED.value}),
    D.APPROVED.value: frozenset({D.WON.value, D.LOST.value, D.EXPIRED.value}),
})
BADGES = {D.SUBMITTED.value: "info", D.PRE_APPROVED.value: "info", D.APPROVED.value: "ok", D.REJECTED.value: "error",
          D.WON.value: "ok", D.LOST.value: "muted", D.EXPIRED.value: "muted"}
# Timeline steps that are not moves: the registration keeps its status.
EVENT_LABELS = {"extension_requested": "Extension asked for", "extension_granted": "Extension granted",
                "extension_refused": "Extension refused", "expiry_warned": "Expiry warning sent",
                "commission_paid": "Reseller commission paid"}


def can_move(from_status: str, to_status: str) -> bool:
    return WORKFLOW.allows(from_status, to_status)


def transition(deal: DealRegistration, *, to: str, by: User | None, actor_label: str | None = None,
               reason: str | None = None) -> StatusEvent:
    """Move `deal` to `to`; raises InvalidTransition; never commits."""
    return transitions.move(WORKFLOW, deal, to=to, by=by, actor_label=actor_label, reason=reason)


def record_creation(deal: DealRegistration, *, by: User | None, reason: str | None = None) -> StatusEvent:
    return transitions.record_creation(WORKFLOW, deal, by=by, reason=reason)


def note(deal: DealRegistration, what: str, *, by: User | None, actor_label: str | None = None,
         reason: str | None = None) -> StatusEvent:
    """A step on the timeline that is not a move (`what` is a key of EVENT_LABELS); never commits."""
    event = StatusEvent(entity_type="deal", entity_id=deal.id, from_status=deal.status, to_status=what,
                        actor=by, actor_label=actor_label, reason=reason)
    db.session.add(event)
    return event


def labels() -> dict[str, str]:
    """Status and timeline-step key -> the name people see."""
    return {**{status.value: label for status, label in DEAL_STATUS_LABELS.items()}, **EVENT_LABELS}
