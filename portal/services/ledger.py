"""The commission ledger: pending inside the holding period, approved by the sweep, paid in a payout
batch, or void; clawbacks when a won deal falls through. Every change is a LedgerEntry (who, when, why).

A partner's balance in a currency is the sum of its entries: earned (+), voided (-), paid (-),
clawback (-, a paid commission's deal fell through: it nets against the next payout), recovered (+,
that clawback netted), reinstated (+). Nothing here commits: these run inside the use case that
changed the referral or the batch (the sweep's approval is its own use case and commits).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import func

from portal import money
from portal.errors import DomainError
from portal.extensions import db
from portal.models import Commission, CommissionStatus, EntryKind, LedgerEntry, Organization, Referral, User
from portal.models.types import utcnow
from portal.services import settings

log = logging.getLogger(__name__)
HOLDING_ACTOR = "Holding period"


def holding_days() -> int:
    return int(settings.get("payouts")["holding_days"])


def record(commission: Commission | None, kind: EntryKind, amount: Decimal, *, currency: str, partner_org_id: int,
           by: User | None = None, actor_label: str | None = None, reason: str | None = None,
           payout_batch_id: int | None = None) -> LedgerEntry:
    entry = LedgerEntry(commission_id=commission.id if commission is not None else None, kind=kind.value,
                        amount=money.quantize(amount, currency), currency=currency, partner_org_id=partner_org_id,
                        actor=by, actor_label=actor_label, reason=reason, payout_batch_id=payout_batch_id)
    db.session.add(entry)
    return entry


def _entry(commission: Commission, kind: EntryKind, amount: Decimal, **kwargs) -> LedgerEntry:
    return record(commission, kind, amount, currency=commission.currency,
                  partner_org_id=commission.partner_org_id, **kwargs)


def earned(commission: Commission, *, won_at: datetime | None = None, by: User | None = None,
           actor_label: str | None = None) -> None:
    """A commission with an amount starts its holding period (from the day the deal was won)."""
    if commission.amount is None:
        return  # held for a person to decide the amount; decide_held() starts it
    db.session.flush()
    won = commission.referral or commission.deal_registration
    won_at = won_at or (won.won_at if won is not None else None)
    commission.hold_until = (won_at or utcnow()) + timedelta(days=holding_days())
    commission.status = CommissionStatus.PENDING.value
    _entry(commission, EntryKind.EARNED, commission.amount, by=by, actor_label=actor_label,
           reason=f"{commission.source_number} won; payable from {commission.hold_until:%Y-%m-%d}")


def reinstate(commission: Commission, *, amount: Decimal, by: User | None = None,
              actor_label: str | None = None) -> None:
    """A voided or clawed-back commission's deal was won again: it is earned again (a new holding period)."""
    if commission.status == CommissionStatus.PAID.value:
        clawed = db.session.scalar(db.select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.commission_id == commission.id, LedgerEntry.kind == EntryKind.CLAWBACK.value)) or 0
        if clawed:
            _entry(commission, EntryKind.REINSTATED, -clawed, by=by, actor_label=actor_label,
                   reason=f"{commission.source_number} won again")
        return
    commission.amount, commission.voided_at, commission.payout_batch_id = amount, None, None
    earned(commission, by=by, actor_label=actor_label)


def approve_due(*, now: datetime | None = None) -> int:
    """The sweep: every pending commission whose holding period is over becomes approved (payable). Commits."""
    now = now or utcnow()
    due = list(db.session.scalars(db.select(Commission).where(
        Commission.status == CommissionStatus.PENDING.value, Commission.hold_until.is_not(None),
        Commission.hold_until <= now).with_for_update(skip_locked=True)))
    for commission in due:
        commission.status, commission.approved_at = CommissionStatus.APPROVED.value, now
        _entry(commission, EntryKind.APPROVED, Decimal(0), actor_label=HOLDING_ACTOR,
               reason=f"{commission.source_number}: {holding_days()} days since the win without a reversal")
    db.session.commit()
    if due:
        log.info("approved %s commissions whose holding period ended", len(due))
    return len(due)


def claw_back(referral: Referral, *, by: User | None, actor_label: str | None, reason: str | None) -> None:
    """A won referral was lost or reopened: an unpaid commission is voided (and leaves an open payout
    batch); a paid one gets a negative adjustment that nets against the partner's next payout."""
    commission = db.session.scalar(db.select(Commission).where(Commission.referral_id == referral.id))
    if commission is None or commission.status == CommissionStatus.VOID.value:
        return
    why = f"Referral {referral.number} no longer won" + (f": {reason}" if reason else "")
    if commission.status == CommissionStatus.PAID.value:
        already = db.session.scalar(db.select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.commission_id == commission.id,
            LedgerEntry.kind.in_((EntryKind.CLAWBACK.value, EntryKind.REINSTATED.value)))) or 0
        if already == 0:
            _entry(commission, EntryKind.CLAWBACK, -(commission.amount or 0), by=by, actor_label=actor_label,
                   reason=why)
        return
    earned_before = commission.amount is not None and commission.status != CommissionStatus.HELD.value
    commission.status, commission.voided_at, commission.payout_batch_id = CommissionStatus.VOID.value, utcnow(), None
    _entry(commission, EntryKind.VOIDED, -(commission.amount or 0) if earned_before else Decimal(0), by=by,
           actor_label=actor_label, reason=why)


def void(commission: Commission, *, by: User, reason: str) -> Commission:
    """An internal user voids an unpaid commission by hand, with a reason. Raises DomainError."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why the commission is voided.", field="reason")
    if commission.status in (CommissionStatus.PAID.value, CommissionStatus.VOID.value):
        raise DomainError("Only an unpaid commission can be voided.")
    earned_before = commission.amount is not None and commission.status != CommissionStatus.HELD.value
    commission.status, commission.voided_at, commission.payout_batch_id = CommissionStatus.VOID.value, utcnow(), None
    _entry(commission, EntryKind.VOIDED, -(commission.amount or 0) if earned_before else Decimal(0), by=by,
           reason=reason[:2000])
    db.session.commit()
    return commission


# ---- what partners see ------------------------------------------------------------------------

def balances(org_id: int, *, before: datetime | None = None) -> dict[str, Decimal]:
    """{currency: balance} of a partner, optionally as it stood just before `before`."""
    query = (db.select(LedgerEntry.currency, func.sum(LedgerEntry.amount))
             .where(LedgerEntry.partner_org_id == org_id).group_by(LedgerEntry.currency)
             .order_by(LedgerEntry.currency))
    if before is not None:
        query = query.where(LedgerEntry.at < before)
    return {currency: money.quantize(total or 0, currency) for currency, total in db.session.execute(query)}


def pending_amounts(org_id: int) -> dict[str, Decimal]:
    """{currency: amount} of commissions still inside their holding period (part of the balance)."""
    query = (db.select(Commission.currency, func.sum(Commission.amount))
             .where(Commission.partner_org_id == org_id, Commission.status == CommissionStatus.PENDING.value,
                    Commission.amount.is_not(None)).group_by(Commission.currency))
    return {currency: money.quantize(total or 0, currency) for currency, total in db.session.execute(query)}


def entries(org_id: int, *, start: datetime | None = None, end: datetime | None = None, limit: int | None = None):
    query = (db.select(LedgerEntry).where(LedgerEntry.partner_org_id == org_id)
             .options(db.joinedload(LedgerEntry.actor)).order_by(LedgerEntry.at, LedgerEntry.id))
    if start is not None:
        query = query.where(LedgerEntry.at >= start)
    if end is not None:
        query = query.where(LedgerEntry.at < end)
    if limit is not None:
        query = query.order_by(None).order_by(LedgerEntry.at.desc(), LedgerEntry.id.desc()).limit(limit)
    return list(db.session.scalars(query))


@dataclass
class Statement:
    organization: Organization
    start: date
    end: date
    opening: dict[str, Decimal]
    entries: list[LedgerEntry]
    closing: dict[str, Decimal]

    @property
    def currencies(self) -> list[str]:
        return sorted(set(self.opening) | set(self.closing))


def statement(org: Organization, *, start: date, end: date) -> Statement:
    """A partner's statement for the days `start`..`end` (UTC, both included): the opening balance,
    the entries, the closing balance, per currency. Raises DomainError for an inverted period."""
    if end < start:
        raise DomainError("The period ends before it starts.", field="end")
    since = datetime.combine(start, time.min, timezone.utc)
    until = datetime.combine(end, time.min, timezone.utc) + timedelta(days=1)
    opening = balances(org.id, before=since)
    rows = entries(org.id, start=since, end=until)
    closing = dict(opening)
    for entry in rows:
        closing[entry.currency] = money.quantize(closing.get(entry.currency, Decimal(0)) + entry.amount,
                                                 entry.currency)
    return Statement(org, start, end, opening, rows, closing)
