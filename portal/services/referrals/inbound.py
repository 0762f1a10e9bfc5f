"""A CRM reports a change to a referral: the one way in from every CRM (DESIGN.md §2, §6).

The engine hands over plain values (the mapped fields, the status the CRM's stage or a
qualification rule asks for, the amount) and this use case applies them together, with the
timeline event under the CRM's name, exactly as a person's click would.
"""
from __future__ import annotations

from decimal import Decimal

from portal import money
from portal.errors import DomainError
from portal.extensions import db
from portal.models import Referral, Stage
from portal.services import crm, statuses
from portal.services.referrals import review

CUSTOM_PREFIX = "custom."
_WON = (Stage.WON_PAYMENT_PENDING.value, Stage.WON_PAYMENT_COMPLETED.value)


def apply_crm_change(referral: Referral, *, fields: dict, status: str | None, reason: str | None,
                     amount: Decimal | None, actor_label: str, connection_id: int) -> list[str]:
    """Apply a CRM's change: fields, status and won amount in one commit, the status event by
    `actor_label` ("HubSpot"); nothing goes back to that connection. Returns the changed field names.
    Raises DomainError (and changes nothing) when the status cannot follow."""
    move = _planned_move(referral, status, fields, amount, actor_label)
    with crm.pulling(connection_id):
        changed = [name for name, value in fields.items() if _set_field(referral, name, value)]
        if move is not None:
            move(referral, reason=reason, actor_label=actor_label)
        db.session.commit()
    return changed


def _planned_move(referral: Referral, key: str | None, fields: dict, amount: Decimal | None, actor_label: str):
    """The status change to make, checked before anything is written; None when there is none."""
    if key is None or key == referral.status:
        return None
    stage = statuses.get(key).stage
    if stage in _WON:
        if referral.is_won:
            return None
        won_amount = amount or fields.get("deal_amount") or fields.get("estimated_value") or referral.estimated_value
        if not won_amount:
            raise DomainError(f"The deal is closed won in {actor_label} but has no amount; enter the won amount.")
        return lambda r, reason, actor_label: review.apply_won(r, amount=won_amount, by=None, actor_label=actor_label)
    if stage in (Stage.LOST.value, Stage.REJECTED.value):
        return lambda r, reason, actor_label: review.apply_lost(r, reason=reason, by=None, actor_label=actor_label)
    if stage == referral.stage:
        return lambda r, reason, actor_label: review.apply_status(r, status=key, by=None, reason=reason,
                                                                 actor_label=actor_label)
    if stage == Stage.ACCEPTED.value:
        return lambda r, reason, actor_label: review.apply_accept(r, by=None, owner=None, actor_label=actor_label)
    raise DomainError(f"{actor_label} asks for status {key!r}, which the portal only sets by hand.")


def _set_field(referral: Referral, name: str, value) -> bool:
    if name.startswith(CUSTOM_PREFIX):
        key = name[len(CUSTOM_PREFIX):]
        custom = dict(referral.custom_fields or {})
        if custom.get(key) == value:
            return False
        custom[key] = value
        referral.custom_fields = custom
        return True
    if name == "deal_amount":  # the CRM's amount before the win is the estimate; the won amount is the win's
        name = "estimated_value"
    if name == "estimated_value" and value is not None:
        value = money.quantize(Decimal(value), referral.currency)
    if getattr(referral, name) == value:
        return False
    setattr(referral, name, value)
    return True
