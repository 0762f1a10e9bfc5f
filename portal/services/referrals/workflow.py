"""The one place a referral changes status: the shared transition mechanism, plus what a referral's
move always brings along (its CRM link marked dirty)."""
from __future__ import annotations

from portal.models import Referral, ReferralStatus, Stage, StatusEvent, User
from portal.services import crm, ledger, statuses, transitions

WON_STAGES = (Stage.WON_PAYMENT_PENDING.value, Stage.WON_PAYMENT_COMPLETED.value)


def check(referral: Referral, *, to: str) -> ReferralStatus:
    """The status `to` if `referral` may move there; raises DomainError/InvalidTransition, changes nothing."""
    target = statuses.get(to)
    statuses.WORKFLOW.check_record(referral, target.stage)
    return target


def transition(referral: Referral, *, to: str, by: User | None, actor_label: str | None = None,
               reason: str | None = None) -> StatusEvent:
    """Move `referral` to status key `to` (checked against the workflow); never commits."""
    target = statuses.get(to)
    statuses.WORKFLOW.check_record(referral, target.stage)
    if referral.stage in WON_STAGES and target.stage not in WON_STAGES:
        # A won deal fell through (lost, or reopened in the CRM): the ledger claws the commission back.
        ledger.claw_back(referral, by=by, actor_label=actor_label, reason=reason)
    event = transitions.move(statuses.WORKFLOW, referral, to=target.key, to_state=target.stage, by=by,
                             actor_label=actor_label, reason=reason)
    crm.mark_dirty(referral)
    return event


def record_creation(referral: Referral, *, by: User | None, actor_label: str | None) -> StatusEvent:
    """The first step of a new referral's timeline; never commits."""
    event = transitions.record_creation(statuses.WORKFLOW, referral, by=by, actor_label=actor_label)
    crm.mark_dirty(referral)
    return event
