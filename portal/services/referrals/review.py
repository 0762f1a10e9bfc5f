"""Internal review of referrals, and the outcomes that follow: won, lost, commission paid.

CRM pulls call these same functions (with `actor_label` naming the CRM), so a deal closed in the
CRM has the same effects as a click.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from portal import money
from portal.errors import DomainError, InvalidTransition
from portal.extensions import db
from portal.models import Commission, Lead, Organization, Referral, Stage, User
from portal.models.types import utcnow
from portal.services import commissions, leads, notifications, statuses
from portal.services.referrals import workflow


# Each use case comes twice: the public function (validate, change, commit once) and its `apply_*`
# core, which validates before it changes anything and never commits. Other use cases compose the
# cores inside their own transaction: a deal won in a registration marks its referral won, a payout
# marks its commissions' referrals paid, a CRM change applies fields and status together.

def accept(referral: Referral, *, by: User | None, owner: User | None = None,
           actor_label: str | None = None) -> Referral:
    """Accept for the direct sales team, with an owner among internal users. Raises InvalidTransition."""
    apply_accept(referral, by=by, owner=owner, actor_label=actor_label)
    db.session.commit()
    return referral


def apply_accept(referral: Referral, *, by: User | None, owner: User | None = None,
                 actor_label: str | None = None) -> None:
    """`accept` within the caller's transaction; never commits."""
    if owner is not None and not (owner.is_internal and owner.is_active):
        raise DomainError("Choose an active internal user as the owner.", field="owner_id")
    workflow.transition(referral, to=Stage.ACCEPTED.value, by=by, actor_label=actor_label)
    referral.routing = "direct"
    referral.owner = owner
    referral.duplicate_flag = False
    notifications.referral_changed("referral_accepted", referral, subject=f"Referral {referral.number} accepted",
                                   headline=f"Good news: your referral of {referral.company_name} was accepted.")
    notifications.owner_assigned(referral)


def reject(referral: Referral, *, by: User, reason: str) -> Referral:
    """Reject, with a reason the partner sees. Raises DomainError without a reason."""
    apply_reject(referral, by=by, reason=reason)
    db.session.commit()
    return referral


def apply_reject(referral: Referral, *, by: User, reason: str) -> None:
    """`reject` within the caller's transaction; never commits."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Give the partner a reason.", field="reason")
    workflow.transition(referral, to=Stage.REJECTED.value, by=by, reason=reason[:2000])
    referral.rejection_reason = reason[:2000]
    referral.duplicate_flag = False
    notifications.referral_changed("referral_rejected", referral, subject=f"Referral {referral.number} rejected",
                                   headline=f"Your referral of {referral.company_name} was not accepted. "
                                            f"Reason: {referral.rejection_reason}")


def route_to_reseller(referral: Referral, *, by: User, reseller: Organization,
                      respond_by: datetime | None = None) -> Referral:
    """Send the referral to a reseller partner as a lead. Raises DomainError for an unfit reseller."""
    apply_route_to_reseller(referral, by=by, reseller=reseller, respond_by=respond_by)
    db.session.commit()
    return referral


def apply_route_to_reseller(referral: Referral, *, by: User, reseller: Organization,
                            respond_by: datetime | None = None) -> Lead:
    """`route_to_reseller` within the caller's transaction; never commits. Returns the new lead."""
    workflow.check(referral, to=Stage.SENT_TO_RESELLER.value)
    # leads.create checks the reseller and the date before it writes; the referral moves only after.
    lead = leads.create(referral, reseller=reseller, respond_by=respond_by, by=by)
    workflow.transition(referral, to=Stage.SENT_TO_RESELLER.value, by=by, reason=f"Lead sent to {reseller.name}")
    referral.routing = "reseller"
    referral.duplicate_flag = False
    return lead


def mark_won(referral: Referral, *, amount: Decimal, won_at: datetime | None = None, by: User | None,
             actor_label: str | None = None, currency: str | None = None) -> Referral:
    """Won at `amount`: the commission is created (pending) and the status becomes "Won, payment pending"."""
    apply_won(referral, amount=amount, won_at=won_at, by=by, actor_label=actor_label, currency=currency)
    db.session.commit()
    return referral


def apply_won(referral: Referral, *, amount: Decimal, won_at: datetime | None = None, by: User | None,
              actor_label: str | None = None, currency: str | None = None) -> Commission | None:
    """`mark_won` within the caller's transaction; never commits. Returns the commission (None without a plan)."""
    if amount is None or amount <= 0:
        raise DomainError("Enter the amount the deal was won at.", field="amount")
    currency = (currency or referral.currency).upper()
    if currency not in money.CURRENCIES:
        raise DomainError("Choose a currency from the list.", field="currency")
    won_at = won_at or utcnow()
    if won_at > utcnow():
        raise DomainError("The date cannot be in the future.", field="won_at")
    workflow.transition(referral, to=Stage.WON_PAYMENT_PENDING.value, by=by, actor_label=actor_label,
                        reason=f"Won at {money.format_amount(amount, currency)}")
    referral.won_amount = money.quantize(amount, currency)
    referral.currency = currency
    referral.won_at = won_at
    commission = commissions.create_for(referral, by=by, actor_label=actor_label)
    earned = ""
    if commission is not None:
        # A held commission (won in another currency than the plan's) has no amount until someone decides it.
        earned = (f" Your commission: {money.format_amount(commission.amount, commission.currency)}."
                  if commission.amount is not None else " Your commission will be confirmed shortly.")
    notifications.referral_changed("referral_won", referral, subject=f"Referral {referral.number} won",
                                   headline=f"Your referral of {referral.company_name} was won.{earned}")
    return commission


def mark_lost(referral: Referral, *, reason: str, by: User | None, actor_label: str | None = None) -> Referral:
    """Lost, with a reason."""
    apply_lost(referral, reason=reason, by=by, actor_label=actor_label)
    db.session.commit()
    return referral


def apply_lost(referral: Referral, *, reason: str, by: User | None, actor_label: str | None = None) -> None:
    """`mark_lost` within the caller's transaction; never commits."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why it was lost.", field="reason")
    workflow.transition(referral, to=Stage.LOST.value, by=by, actor_label=actor_label, reason=reason[:2000])
    referral.lost_reason = reason[:2000]


def mark_commission_paid(referral: Referral, *, by: User) -> Referral:
    """The commission is paid out: "Won, payment completed"."""
    apply_commission_paid(referral, by=by)
    db.session.commit()
    return referral


def apply_commission_paid(referral: Referral, *, by: User | None, actor_label: str | None = None,
                          payout_batch_id: int | None = None, reason: str | None = None,
                          notify: bool = True) -> Commission:
    """`mark_commission_paid` within the caller's transaction (a payout batch pays many); never commits.
    A payout batch passes its id and reason for the ledger, and mails one statement instead (`notify`).

    Raises InvalidTransition unless the referral is won with its payment pending, DomainError when
    it has no commission or the commission is already paid or void.
    """
    if referral.stage != Stage.WON_PAYMENT_PENDING.value:
        raise InvalidTransition("Only a won referral with a pending payment can be marked paid.")
    commission = db.session.scalar(db.select(Commission).where(Commission.referral_id == referral.id))
    if commission is None:
        raise DomainError("This referral has no commission: its partner has no commission plan.")
    commissions.check_payable(commission)
    workflow.check(referral, to=Stage.WON_PAYMENT_COMPLETED.value)
    paid = money.format_amount(commission.amount, commission.currency)
    commissions.mark_paid(commission, by=by, payout_batch_id=payout_batch_id, reason=reason)
    workflow.transition(referral, to=Stage.WON_PAYMENT_COMPLETED.value, by=by, actor_label=actor_label,
                        reason=reason or f"Commission of {paid} paid")
    if notify:
        notifications.referral_changed("commission_paid", referral,
                                       subject=f"Commission paid for {referral.number}",
                                       headline=f"We paid your commission of {paid} for {referral.company_name}.")
    return commission


def set_status(referral: Referral, *, status: str, by: User | None, reason: str | None = None,
               actor_label: str | None = None) -> Referral:
    """Move to a custom (intermediate) status. Outcomes with effects have their own functions."""
    apply_status(referral, status=status, by=by, reason=reason, actor_label=actor_label)
    db.session.commit()
    return referral


def apply_status(referral: Referral, *, status: str, by: User | None, reason: str | None = None,
                 actor_label: str | None = None) -> None:
    """`set_status` within the caller's transaction; never commits."""
    target = statuses.get(status)
    if target.stage != referral.stage:
        raise InvalidTransition("Use the action for that step (accept, reject, won, lost...).")
    workflow.transition(referral, to=target.key, by=by, reason=reason, actor_label=actor_label)


def bulk_accept(referrals: list[Referral], *, by: User) -> tuple[int, list[str]]:
    """Accept several; one that cannot be accepted is skipped with its reason. Returns (done, problems)."""
    return _bulk(referrals, lambda r: apply_accept(r, by=by))


def bulk_reject(referrals: list[Referral], *, by: User, reason: str) -> tuple[int, list[str]]:
    """Reject several with one reason."""
    if not (reason or "").strip():
        raise DomainError("Give the partners a reason.", field="reason")
    return _bulk(referrals, lambda r: apply_reject(r, by=by, reason=reason))


def bulk_route(referrals: list[Referral], *, by: User, reseller: Organization,
               respond_by: datetime | None = None) -> tuple[int, list[str]]:
    """Send several to one reseller as leads; one that cannot go (its own partner, decided) is skipped."""
    return _bulk(referrals, lambda r: apply_route_to_reseller(r, by=by, reseller=reseller, respond_by=respond_by))


def _bulk(referrals, action) -> tuple[int, list[str]]:
    done, problems = 0, []
    for referral in referrals:
        savepoint = db.session.begin_nested()
        try:
            action(referral)
            savepoint.commit()
            done += 1
        except DomainError as err:
            savepoint.rollback()
            problems.append(f"{referral.number}: {err.message}")
    db.session.commit()
    return done, problems
