"""Referral statuses: the fixed workflow (DESIGN.md §5) and the names admins give its steps."""
from __future__ import annotations

import re
from dataclasses import dataclass

from portal.errors import DomainError, InvalidTransition
from portal import database
from portal.extensions import db
from portal.models import ReferralStatus, Stage
from portal.models.referrals import STAGE_LABELS
from portal.services import read_cache, transitions

S = Stage
# Which stage may follow which. Won and lost can come straight from the CRM at any open stage.
TRANSITIONS: dict[Stage, set[Stage]] = {
    S.SUBMITTED: {S.ACCEPTED, S.SENT_TO_RESELLER, S.REJECTED, S.WON_PAYMENT_PENDING, S.LOST},
    S.ACCEPTED: {S.WON_PAYMENT_PENDING, S.LOST, S.SENT_TO_RESELLER},
    S.SENT_TO_RESELLER: {S.ACCEPTED, S.WON_PAYMENT_PENDING, S.LOST},
    # A won deal can fall through (lost, or reopened in the CRM): the ledger claws the commission back.
    S.WON_PAYMENT_PENDING: {S.WON_PAYMENT_COMPLETED, S.LOST, S.ACCEPTED},
    S.WON_PAYMENT_COMPLETED: {S.LOST, S.ACCEPTED},
    S.REJECTED: set(),
    S.LOST: set(),
}
OPEN_STAGES = (S.SUBMITTED, S.ACCEPTED, S.SENT_TO_RESELLER)
BADGES = {
    S.SUBMITTED: "info", S.ACCEPTED: "ok", S.SENT_TO_RESELLER: "ok", S.REJECTED: "error",
    S.WON_PAYMENT_PENDING: "warn", S.WON_PAYMENT_COMPLETED: "ok", S.LOST: "muted",
}


def _refusal(from_stage: str, to_stage: str) -> str:
    return (f"A referral that is {STAGE_LABELS[Stage(from_stage)].lower()} "
            f"cannot become {STAGE_LABELS[Stage(to_stage)].lower()}.")


# The referral's moves for the shared transition mechanism (services/transitions.py). Staying within
# a stage (a custom step) is a move too, allowed unless the stage is final.
WORKFLOW = transitions.Workflow(
    entity_type="referral", state_attr="stage", refusal=_refusal,
    moves={stage.value: frozenset({t.value for t in targets} | ({stage.value} if targets else set()))
           for stage, targets in TRANSITIONS.items()})


def can_move(from_stage: str, to_stage: str) -> bool:
    """May a referral at `from_stage` move to `to_stage` (the same stage: a custom step)?"""
    return WORKFLOW.allows(Stage(from_stage).value, Stage(to_stage).value)


def check_move(from_stage: str, to_stage: str) -> None:
    """Raises InvalidTransition unless `can_move`."""
    WORKFLOW.check(Stage(from_stage).value, Stage(to_stage).value)


def stages_with_steps() -> list[Stage]:
    """The stages a custom intermediate status may mean: those that are not final."""
    return [stage for stage in Stage if can_move(stage.value, stage.value)]


def ensure_builtin(*, trust_cache: bool = True) -> None:
    """Store the built-in statuses, one per stage, if missing (names keep any admin renaming).

    `portal init` and the migrations store them; this is the safety net for a database built
    otherwise, and it is race-free: two first writers at once both succeed, one row per status.
    """
    def count() -> int:
        return db.session.scalar(db.select(db.func.count(ReferralStatus.id)).where(ReferralStatus.builtin.is_(True)))

    # Every submission asks, so the answer is cached behind the statuses' stamp; `portal init`
    # counts the rows themselves (a database changed below the ORM leaves the stamp as it was).
    stored = read_cache.cached(read_cache.STATUSES, "builtin_count", count) if trust_cache else count()
    if stored >= len(Stage):
        return
    rows = [{"key": stage.value, "label": STAGE_LABELS[stage], "stage": stage.value, "position": position * 10,
             "builtin": True} for position, stage in enumerate(Stage)]
    if database.insert_missing(ReferralStatus, rows, conflict_on=["key"]):
        read_cache.written(read_cache.STATUSES)  # a Core insert: no flush hook saw it


@dataclass(frozen=True)
class StatusName:
    """A status as pages read it (cached per process: never an ORM row)."""

    key: str
    label: str
    stage: str
    position: int
    builtin: bool


def all_statuses() -> list[StatusName]:
    """Every status in workflow order. Reading never writes: a built-in status not stored yet (the
    first write use case stores them) comes with its default name."""
    return list(read_cache.cached(read_cache.STATUSES, "all", _load_all))


def _load_all() -> tuple[StatusName, ...]:
    stored = [StatusName(s.key, s.label, s.stage, s.position, bool(s.builtin)) for s in db.session.scalars(
        db.select(ReferralStatus).order_by(ReferralStatus.position, ReferralStatus.id))]
    present = {status.key for status in stored}
    missing = [StatusName(stage.value, STAGE_LABELS[stage], stage.value, position * 10, True)
               for position, stage in enumerate(Stage) if stage.value not in present]
    return tuple(sorted(stored + missing, key=lambda status: status.position) if missing else stored)


def labels(statuses: list[StatusName] | None = None) -> dict[str, str]:
    """status key -> the name people see (from `statuses` when the caller already has them)."""
    return {status.key: status.label for status in (statuses if statuses is not None else all_statuses())}


def get(key: str) -> ReferralStatus:
    ensure_builtin()
    status = db.session.scalar(db.select(ReferralStatus).where(ReferralStatus.key == key))
    if status is None:
        raise DomainError("Unknown status.", field="status")
    return status


def rename(key: str, label: str) -> ReferralStatus:
    """Give a status another name; its meaning stays. Raises DomainError without a name."""
    label = (label or "").strip()
    if not label:
        raise DomainError("Give the status a name.", field="label")
    status = get(key)
    status.label = label[:80]
    db.session.commit()
    return status


def add_custom(*, label: str, stage: str) -> ReferralStatus:
    """Add an intermediate status with the fixed meaning `stage`, placed after that stage's built-in one."""
    label = (label or "").strip()
    if not label:
        raise DomainError("Give the status a name.", field="label")
    if stage not in {s.value for s in Stage}:
        raise DomainError("Choose what the status means.", field="stage")
    if not TRANSITIONS[Stage(stage)] and stage != S.WON_PAYMENT_PENDING.value:
        raise DomainError("A final status cannot have steps after it.", field="stage")
    ensure_builtin()
    key = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:30] or "status"
    if db.session.scalar(db.select(ReferralStatus.id).where(ReferralStatus.key == key)):
        raise DomainError("A status with this name exists already.", field="label")
    base = db.session.scalar(db.select(ReferralStatus.position).where(ReferralStatus.key == stage))
    status = ReferralStatus(key=key, label=label[:80], stage=stage, position=(base or 0) + 5, builtin=False)
    db.session.add(status)
    db.session.commit()
    return status
