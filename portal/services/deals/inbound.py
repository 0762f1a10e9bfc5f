"""A CRM reports a change to a deal registration: the one way in from every CRM (DESIGN.md §2, §6).

The connector names the portal status the CRM's record means (won, lost); this use case takes the
registration there through the very steps a person's click uses (the approval, the win with its
commissions and mail, the referral it came from), with the timeline events under the CRM's name.
A registration the CRM closes before anyone decided it is approved (or rejected) on the way: the
vendor's own sales closed it.
"""
from __future__ import annotations

from decimal import Decimal

from portal.errors import DomainError
from portal.extensions import db
from portal.models import DealRegistration, DealStatus
from portal.services import crm
from portal.services.deals import review

D = DealStatus
_UNDECIDED = (D.SUBMITTED.value, D.PRE_APPROVED.value)
_OVER = (D.REJECTED.value, D.LOST.value, D.EXPIRED.value)   # a close that is lost changes nothing here
_WRITABLE = ("amount",)  # what a CRM may change on a registration besides its status


def apply_crm_change(deal: DealRegistration, *, fields: dict, status: str | None, reason: str | None,
                     amount: Decimal | None, actor_label: str, connection_id: int) -> list[str]:
    """Apply a CRM's change (fields, then the status) in one commit; nothing goes back to that
    connection. Returns the changed field names. Raises DomainError (changing nothing) when the
    status cannot follow (a closed-won deal without an amount, a registration already rejected)."""
    with crm.pulling(connection_id):
        changed = [name for name, value in fields.items() if _set_field(deal, name, value)]
        if status is not None and status != deal.status:
            _move(deal, status, reason=reason, amount=amount, actor_label=actor_label)
        db.session.commit()
    return changed


def _move(deal: DealRegistration, status: str, *, reason: str | None, amount: Decimal | None, actor_label: str) -> None:
    if status == D.WON.value:
        won_amount = amount or deal.amount
        if not won_amount:
            raise DomainError(f"The deal is closed won in {actor_label} but has no amount; enter the won amount.")
        if deal.status in _UNDECIDED:
            review._approve(deal, by=None, actor_label=actor_label)
        review._mark_won(deal, amount=won_amount, by=None, actor_label=actor_label)
    elif status == D.LOST.value:
        reason = reason or f"Closed lost in {actor_label}"
        if deal.status in _OVER:
            return
        if deal.status in _UNDECIDED:
            review._reject(deal, by=None, reason=reason, actor_label=actor_label)
        else:
            review._mark_lost(deal, reason=reason, by=None, actor_label=actor_label)
    else:
        raise DomainError(f"{actor_label} asks for status {status!r}, which the portal only sets by hand.")


def _set_field(deal: DealRegistration, name: str, value) -> bool:
    if name not in _WRITABLE or getattr(deal, name) == value:
        return False
    setattr(deal, name, value)
    return True
