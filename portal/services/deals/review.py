"""Internal review of deal registrations, their outcomes, the partner's extension requests, and the sweep.

A won registration that came from a referral marks that referral won through the referral's own
won step (its commission, its mail), and pays the reseller its own commission beside it.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from portal import money
from portal.errors import DomainError, InvalidTransition
from portal.extensions import db
from portal.models import Commission, DealRegistration, DealStatus, User
from portal.models.types import utcnow
from portal.services import commissions, crm, notifications, settings
from portal.services.deals import closed_loop, workflow

D = DealStatus


def pre_approve(deal: DealRegistration, *, by: User) -> DealRegistration:
    """First look passed: the registration is pre-approved. Raises InvalidTransition."""
    _pre_approve(deal, by=by)
    db.session.commit()
    return deal


def _pre_approve(deal: DealRegistration, *, by: User) -> None:
    workflow.transition(deal, to=D.PRE_APPROVED.value, by=by)
    crm.deal_event(deal, "pre_approved")
    notifications.deal_to_partner("deal_pre_approved", deal, subject=f"Deal registration {deal.number} pre-approved",
                                  headline=f"Your registration of the deal with {deal.customer_company} is "
                                           f"pre-approved; the final decision follows.")


def approve(deal: DealRegistration, *, by: User, owner: User | None = None,
            expires_at: datetime | None = None) -> DealRegistration:
    """Approve: the partner is protected until `expires_at` (default: the protection period from now)."""
    _approve(deal, by=by, owner=owner, expires_at=expires_at)
    db.session.commit()
    return deal


def _approve(deal: DealRegistration, *, by: User | None, owner: User | None = None, expires_at: datetime | None = None,
             actor_label: str | None = None) -> None:
    if owner is not None and not (owner.is_internal and owner.is_active):
        raise DomainError("Choose an active internal user as the owner.", field="owner_id")
    now = utcnow()
    expires_at = expires_at or now + timedelta(days=settings.get("deals")["protection_days"])
    if expires_at <= now:
        raise DomainError("The protection must end in the future.", field="expires_at")
    workflow.transition(deal, to=D.APPROVED.value, by=by, actor_label=actor_label,
                        reason=f"Protected until {expires_at:%Y-%m-%d}")
    deal.approved_at, deal.expires_at, deal.expiry_warned_at = now, expires_at, None
    deal.conflict_flag = False
    if owner is not None:
        deal.vendor_owner = owner
    crm.deal_event(deal, "approved")
    notifications.deal_to_partner("deal_approved", deal, subject=f"Deal registration {deal.number} approved",
                                  headline=f"Your registration of the deal with {deal.customer_company} is approved. "
                                           f"It protects you until {expires_at:%Y-%m-%d}.")


def reject(deal: DealRegistration, *, by: User, reason: str) -> DealRegistration:
    """Reject, with a reason the partner sees. Raises DomainError without a reason."""
    _reject(deal, by=by, reason=reason)
    db.session.commit()
    return deal


def _reject(deal: DealRegistration, *, by: User | None, reason: str, actor_label: str | None = None) -> None:
    reason = (reason or "").strip()[:2000]
    if not reason:
        raise DomainError("Give the partner a reason.", field="reason")
    workflow.transition(deal, to=D.REJECTED.value, by=by, actor_label=actor_label, reason=reason)
    deal.rejection_reason = reason
    deal.conflict_flag = False
    notifications.deal_to_partner("deal_rejected", deal, subject=f"Deal registration {deal.number} rejected",
                                  headline=f"Your registration of the deal with {deal.customer_company} was not "
                                           f"approved. Reason: {reason}")


def mark_won(deal: DealRegistration, *, amount: Decimal, by: User | None, won_at: datetime | None = None,
             currency: str | None = None, actor_label: str | None = None) -> DealRegistration:
    """Won at `amount`: the reseller's commission (reseller plan) and, for a deal from a referral, the
    referral won with the referrer's commission. Raises DomainError, InvalidTransition."""
    _mark_won(deal, amount=amount, by=by, won_at=won_at, currency=currency, actor_label=actor_label)
    db.session.commit()
    return deal


def _mark_won(deal: DealRegistration, *, amount: Decimal, by: User | None, won_at: datetime | None = None,
              currency: str | None = None, actor_label: str | None = None) -> None:
    if amount is None or amount <= 0:
        raise DomainError("Enter the amount the deal was won at.", field="amount")
    currency = (currency or deal.currency).upper()
    if currency not in money.CURRENCIES:
        raise DomainError("Choose a currency from the list.", field="currency")
    won_at = won_at or utcnow()
    if won_at > utcnow():
        raise DomainError("The date cannot be in the future.", field="won_at")
    workflow.transition(deal, to=D.WON.value, by=by, actor_label=actor_label,
                        reason=f"Won at {money.format_amount(amount, currency)}")
    deal.won_amount, deal.currency, deal.won_at = money.quantize(amount, currency), currency, won_at
    commission = commissions.create_for_deal(deal, by=by, actor_label=actor_label)
    earned = f" Your commission: {money.format_amount(commission.amount, commission.currency)}." if commission else ""
    notifications.deal_to_partner("deal_won", deal, subject=f"Deal registration {deal.number} won",
                                  headline=f"The deal with {deal.customer_company} is won.{earned}")
    if deal.referral is not None:
        closed_loop.referral_won(deal, by=by, actor_label=actor_label)


def mark_lost(deal: DealRegistration, *, reason: str, by: User | None, actor_label: str | None = None) -> DealRegistration:
    """Lost, with a reason; a referral it came from is lost too."""
    _mark_lost(deal, reason=reason, by=by, actor_label=actor_label)
    db.session.commit()
    return deal


def _mark_lost(deal: DealRegistration, *, reason: str, by: User | None, actor_label: str | None = None) -> None:
    reason = (reason or "").strip()[:2000]
    if not reason:
        raise DomainError("Say why it was lost.", field="reason")
    workflow.transition(deal, to=D.LOST.value, by=by, actor_label=actor_label, reason=reason)
    deal.lost_reason = reason
    notifications.deal_to_partner("deal_lost", deal, subject=f"Deal registration {deal.number} lost",
                                  headline=f"The deal with {deal.customer_company} is lost. Reason: {reason}")
    if deal.referral is not None:
        closed_loop.referral_lost(deal, by=by, actor_label=actor_label)


def mark_commission_paid(deal: DealRegistration, *, by: User) -> Commission:
    """The reseller's commission is paid; the referrer's commission is paid on its own."""
    commission = db.session.scalar(db.select(Commission).where(Commission.deal_registration_id == deal.id))
    if commission is None:
        raise DomainError("This registration has no commission: its partner has no reseller plan.")
    commissions.mark_paid(commission, by=by)
    workflow.note(deal, "commission_paid", by=by,
                    reason=f"Commission of {money.format_amount(commission.amount, commission.currency)} paid")
    db.session.commit()
    return commission


def request_extension(deal: DealRegistration, *, by: User, reason: str) -> DealRegistration:
    """The partner asks for a longer protection. Raises DomainError without a reason or with one pending."""
    reason = (reason or "").strip()[:2000]
    if deal.status != D.APPROVED.value:
        raise InvalidTransition("Only an approved registration can be extended.")
    if deal.extension_requested_at is not None:
        raise DomainError("You asked for an extension already; the vendor will answer it.")
    if not reason:
        raise DomainError("Tell the vendor why the deal needs longer.", field="reason")
    deal.extension_requested_at, deal.extension_reason = utcnow(), reason
    workflow.note(deal, "extension_requested", by=by, reason=reason)
    notifications.deal_to_vendor("deal_extension", deal, subject=f"Extension asked for {deal.number}",
                                 headline=f"{deal.partner_org.name} asks to extend the registration for "
                                          f"{deal.customer_company} (protected until {deal.expires_at:%Y-%m-%d}). "
                                          f"Reason: {reason}")
    db.session.commit()
    return deal


def grant_extension(deal: DealRegistration, *, by: User, expires_at: datetime) -> DealRegistration:
    """Grant the pending extension: the protection ends at `expires_at` instead."""
    _check_pending_extension(deal)
    if expires_at is None or expires_at <= max(utcnow(), deal.expires_at):
        raise DomainError("Choose a date after the current end of the protection.", field="expires_at")
    deal.expires_at, deal.expiry_warned_at = expires_at, None
    deal.extension_requested_at = None
    workflow.note(deal, "extension_granted", by=by, reason=f"Protected until {expires_at:%Y-%m-%d}")
    notifications.deal_to_partner("deal_extension", deal, subject=f"Extension granted for {deal.number}",
                                  headline=f"Your registration for {deal.customer_company} is extended until "
                                           f"{expires_at:%Y-%m-%d}.")
    db.session.commit()
    return deal


def refuse_extension(deal: DealRegistration, *, by: User, reason: str | None = None) -> DealRegistration:
    """Refuse the pending extension; the protection keeps its end date."""
    _check_pending_extension(deal)
    deal.extension_requested_at = None
    reason = (reason or "").strip()[:2000] or None
    workflow.note(deal, "extension_refused", by=by, reason=reason)
    notifications.deal_to_partner("deal_extension", deal, subject=f"Extension refused for {deal.number}",
                                  headline=f"Your registration for {deal.customer_company} keeps its end date, "
                                           f"{deal.expires_at:%Y-%m-%d}." + (f" Reason: {reason}" if reason else ""))
    db.session.commit()
    return deal


def _check_pending_extension(deal: DealRegistration) -> None:
    if deal.status != D.APPROVED.value or deal.extension_requested_at is None:
        raise InvalidTransition("No extension request is waiting for an answer.")


def sweep_expiry() -> dict[str, int]:
    """Warn partners whose protection ends within the warning period (once), expire the overdue (the sweep)."""
    now = utcnow()
    config = settings.get("deals")
    warn_before = now + timedelta(days=config["warn_days_before"])
    approved = DealRegistration.status == D.APPROVED.value
    overdue = list(db.session.scalars(db.select(DealRegistration).where(approved, DealRegistration.expires_at <= now)
                                      .with_for_update(skip_locked=True)))
    for deal in overdue:
        workflow.transition(deal, to=D.EXPIRED.value, by=None, actor_label="Protection period ended")
        deal.extension_requested_at = None
        notifications.deal_to_partner("deal_expired", deal, subject=f"Deal registration {deal.number} expired",
                                      headline=f"The protection of your deal with {deal.customer_company} ended on "
                                               f"{deal.expires_at:%Y-%m-%d}.")
    warned = 0
    if config["warn_days_before"] > 0:
        due = list(db.session.scalars(db.select(DealRegistration).where(
            approved, DealRegistration.expires_at > now, DealRegistration.expires_at <= warn_before,
            DealRegistration.expiry_warned_at.is_(None)).with_for_update(skip_locked=True)))
        for deal in due:
            deal.expiry_warned_at = now
            workflow.note(deal, "expiry_warned", by=None, actor_label="Portal",
                            reason=f"Protection ends {deal.expires_at:%Y-%m-%d}")
            notifications.deal_to_partner("deal_expiring", deal, subject=f"Deal registration {deal.number} expires soon",
                                          headline=f"The protection of your deal with {deal.customer_company} ends "
                                                   f"on {deal.expires_at:%Y-%m-%d}. Ask for an extension if the "
                                                   f"deal needs longer.")
        warned = len(due)
    db.session.commit()
    return {"deals_expired": len(overdue), "deals_warned": warned}


def bulk(deals: list[DealRegistration], *, action: str, by: User, reason: str = "") -> tuple[int, list[str]]:
    """Pre-approve, approve or reject several; one that cannot be is skipped with its reason."""
    actions = {"pre_approve": lambda d: _pre_approve(d, by=by), "approve": lambda d: _approve(d, by=by),
               "reject": lambda d: _reject(d, by=by, reason=reason)}
    if action not in actions:
        raise DomainError("Choose an action.", field="action")
    if action == "reject" and not (reason or "").strip():
        raise DomainError("Give the partners a reason.", field="reason")
    done, problems = 0, []
    for deal in deals:
        savepoint = db.session.begin_nested()
        try:
            actions[action](deal)
            savepoint.commit()
            done += 1
        except DomainError as err:
            savepoint.rollback()
            problems.append(f"{deal.number}: {err.message}")
    db.session.commit()
    return done, problems

