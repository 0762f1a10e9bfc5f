"""Payout batches: select approved commissions of one currency (by partner, with a minimum per
partner), net of open clawbacks; export the payout file; mark paid with the bank's reference (every
commission paid, each referral "Won, payment completed", each partner mailed a statement); or
cancel before it is paid, which frees its commissions for the next batch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from portal import money
from portal.errors import DomainError, InvalidTransition, NotFound
from portal.extensions import db
from portal.jobs import mail
from portal.models import (BatchStatus, Commission, CommissionStatus, EntryKind, LedgerEntry, Organization,
                           PayoutBatch, Role, User)
from portal.models.types import utcnow
from portal.services import commissions, ledger, payees, referrals
from portal.urls import absolute_url


@dataclass
class Line:
    """One partner's part of a batch (or of what is payable now)."""

    organization: Organization
    currency: str
    commissions: list[Commission] = field(default_factory=list)
    clawbacks: list[LedgerEntry] = field(default_factory=list)

    @property
    def gross(self) -> Decimal:
        return money.quantize(sum((c.amount or 0 for c in self.commissions), Decimal(0)), self.currency)

    @property
    def deductions(self) -> Decimal:
        return money.quantize(sum((e.amount for e in self.clawbacks), Decimal(0)), self.currency)

    @property
    def net(self) -> Decimal:
        return money.quantize(self.gross + self.deductions, self.currency)


def payable(*, currency: str, partner_org_ids: list[int] | None = None,
            minimum: Decimal | None = None) -> list[Line]:
    """Approved commissions in `currency` in no batch, per partner, less the partner's open clawbacks;
    only partners whose net reaches `minimum` (and is above zero)."""
    if currency not in money.CURRENCIES:
        raise DomainError("Choose a currency from the list.", field="currency")
    query = (db.select(Commission).where(Commission.status == CommissionStatus.APPROVED.value,
                                         Commission.currency == currency, Commission.payout_batch_id.is_(None))
             .options(db.joinedload(Commission.referral), db.joinedload(Commission.deal_registration)).order_by(Commission.partner_org_id, Commission.id))
    clawbacks = db.select(LedgerEntry).where(LedgerEntry.kind == EntryKind.CLAWBACK.value,
                                             LedgerEntry.currency == currency, LedgerEntry.payout_batch_id.is_(None))
    if partner_org_ids:
        query = query.where(Commission.partner_org_id.in_(partner_org_ids))
        clawbacks = clawbacks.where(LedgerEntry.partner_org_id.in_(partner_org_ids))
    return _lines(currency, db.session.scalars(query), db.session.scalars(clawbacks), minimum)


def _lines(currency, commission_rows, clawback_rows, minimum: Decimal | None, *, keep_all: bool = False) -> list[Line]:
    lines: dict[int, Line] = {}
    for commission in commission_rows:
        line = lines.get(commission.partner_org_id)
        if line is None:
            line = lines[commission.partner_org_id] = Line(db.session.get(Organization, commission.partner_org_id),
                                                           currency)
        line.commissions.append(commission)
    for entry in clawback_rows:
        if entry.partner_org_id in lines:
            lines[entry.partner_org_id].clawbacks.append(entry)
    floor = minimum if minimum is not None and minimum > 0 else Decimal("0.001")
    return sorted((line for line in lines.values() if keep_all or line.net >= floor),
                  key=lambda line: line.organization.name)


def create_batch(*, by: User, currency: str, partner_org_ids: list[int] | None = None,
                 minimum: Decimal | None = None) -> PayoutBatch:
    """Put what is payable (with these choices) into a new open batch. Raises DomainError when nothing is."""
    lines = payable(currency=currency, partner_org_ids=partner_org_ids, minimum=minimum)
    if not lines:
        raise DomainError("Nothing is payable with these choices.")
    batch = PayoutBatch(currency=currency, status=BatchStatus.OPEN.value, created_by=by,
                        total_amount=money.quantize(sum((line.net for line in lines), Decimal(0)), currency))
    db.session.add(batch)
    db.session.flush()
    batch.number = f"PO-{batch.id:05d}"
    for line in lines:
        for commission in line.commissions:
            commission.payout_batch_id = batch.id
        for entry in line.clawbacks:
            entry.payout_batch_id = batch.id
    db.session.commit()
    return batch


def lines_of(batch: PayoutBatch) -> list[Line]:
    """The partners of a batch with their commissions and the clawbacks it nets."""
    commission_rows = db.session.scalars(db.select(Commission).where(Commission.payout_batch_id == batch.id)
                                         .options(db.joinedload(Commission.referral), db.joinedload(Commission.deal_registration))
                                         .order_by(Commission.partner_org_id, Commission.id))
    clawback_rows = db.session.scalars(db.select(LedgerEntry).where(
        LedgerEntry.payout_batch_id == batch.id, LedgerEntry.kind == EntryKind.CLAWBACK.value))
    return _lines(batch.currency, commission_rows, clawback_rows, None, keep_all=True)


PAYOUT_HEADER = ["Partner", "Method", "Account holder", "Payee details", "Tax id", "Amount", "Currency", "Reference"]


def payout_rows(batch: PayoutBatch) -> list[list]:
    """The payout file: one row per partner with the whole payee details (the bank needs them)."""
    rows = []
    for line in lines_of(batch):
        payee = payees.payee_for(line.organization)
        rows.append([line.organization.name, payee.method_label if payee else "", payee.account_name if payee else "",
                     payee.for_payout() if payee else "NO PAYEE DETAILS", payee.tax_id if payee else "",
                     line.net, batch.currency, f"{batch.number}-{line.organization.id}"])
    return rows


def mark_paid(batch: PayoutBatch, *, by: User, reference: str) -> PayoutBatch:
    """The money went out: every commission paid, each referral "Won, payment completed", the clawbacks
    netted, each partner mailed a statement. Raises DomainError without a reference, InvalidTransition
    unless the batch is open."""
    reference = (reference or "").strip()
    if not reference:
        raise DomainError("Enter the payment reference (from the bank or PayPal).", field="reference")
    if batch.status != BatchStatus.OPEN.value:
        raise InvalidTransition("Only an open batch can be marked paid.")
    why = f"Paid in payout {batch.number} (reference {reference[:100]})"
    lines = lines_of(batch)
    for line in lines:
        for commission in line.commissions:
            if commission.referral is not None:
                # The same core as "Mark commission paid" on a referral; the partner gets one statement instead.
                referrals.apply_commission_paid(commission.referral, by=by, payout_batch_id=batch.id, reason=why,
                                                notify=False)
            else:  # a reseller's commission on a deal registration: the deal has no payment step of its own
                commissions.mark_paid(commission, by=by, payout_batch_id=batch.id, reason=why)
        for entry in line.clawbacks:
            ledger.record(None, EntryKind.RECOVERED, -entry.amount, currency=entry.currency,
                          partner_org_id=entry.partner_org_id, by=by, payout_batch_id=batch.id,
                          reason=f"Clawback netted against payout {batch.number}")
    batch.status, batch.reference, batch.paid_at, batch.paid_by = BatchStatus.PAID.value, reference[:120], utcnow(), by
    db.session.flush()
    for line in lines:
        _mail_statement(batch, line)
    db.session.commit()
    return batch


def _mail_statement(batch: PayoutBatch, line: Line) -> None:
    today = utcnow().date()
    start = date(today.year, today.month, 1)
    statement = ledger.statement(line.organization, start=start, end=today)
    link = absolute_url("partner.ledger_statement", start=start.isoformat(), end=today.isoformat())
    admins = db.session.scalars(db.select(User).where(User.organization_id == line.organization.id,
                                                      User.role == Role.PARTNER_ADMIN.value, User.active.is_(True)))
    subject = f"Payout {batch.number}: {money.format_amount(line.net, batch.currency)} paid"
    for admin in admins:
        mail.queue("commission_paid", to=admin, subject=subject, template="payout_statement", batch=batch, line=line,
                   statement=statement, link=link)


def cancel(batch: PayoutBatch, *, by: User) -> PayoutBatch:
    """Cancel an open batch: its commissions and clawbacks are free for the next one. Raises InvalidTransition."""
    if batch.status != BatchStatus.OPEN.value:
        raise InvalidTransition("Only an open batch can be cancelled.")
    db.session.execute(db.update(Commission).where(Commission.payout_batch_id == batch.id)
                       .values(payout_batch_id=None))
    db.session.execute(db.update(LedgerEntry).where(LedgerEntry.payout_batch_id == batch.id,
                                                    LedgerEntry.kind == EntryKind.CLAWBACK.value)
                       .values(payout_batch_id=None))
    batch.status, batch.cancelled_at = BatchStatus.CANCELLED.value, utcnow()
    db.session.commit()
    return batch


def list_batches() -> list[PayoutBatch]:
    return list(db.session.scalars(db.select(PayoutBatch).order_by(PayoutBatch.created_at.desc(),
                                                                   PayoutBatch.id.desc())))


def get_batch(batch_id: int) -> PayoutBatch:
    """One batch by id. Raises NotFound."""
    batch = db.session.get(PayoutBatch, batch_id)
    if batch is None:
        raise NotFound()
    return batch


def partners() -> list[Organization]:
    return list(db.session.scalars(db.select(Organization).where(Organization.kind != "vendor")
                                   .order_by(Organization.name)))


def currencies_payable() -> list[str]:
    """The currencies with approved commissions waiting for a batch."""
    return list(db.session.scalars(db.select(Commission.currency).where(
        Commission.status == CommissionStatus.APPROVED.value, Commission.payout_batch_id.is_(None))
        .group_by(Commission.currency).order_by(Commission.currency)))

