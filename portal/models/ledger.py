"""The commission ledger: every change to what a partner is owed is an entry; payout batches pay
approved commissions (net of adjustments); payee details are kept per organization, encrypted."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.accounts import Organization, User
from portal.models.types import UTCDateTime, utcnow


class EntryKind(str, enum.Enum):
    EARNED = "earned"          # + the commission (pending until its holding period ends)
    APPROVED = "approved"      # 0: the holding period ended, the commission is payable
    VOIDED = "voided"          # - an unpaid commission is voided (the deal fell through)
    PAID = "paid"              # - paid out in a payout batch
    CLAWBACK = "clawback"      # - a paid commission's deal fell through: nets against the next payout
    RECOVERED = "recovered"    # + a clawback netted against a payout
    REINSTATED = "reinstated"  # + a clawed-back or voided commission's deal was won again


ENTRY_LABELS = {
    EntryKind.EARNED: "Commission earned", EntryKind.APPROVED: "Approved (holding period over)",
    EntryKind.VOIDED: "Voided", EntryKind.PAID: "Paid", EntryKind.CLAWBACK: "Clawback adjustment",
    EntryKind.RECOVERED: "Adjustment netted against payout", EntryKind.REINSTATED: "Reinstated",
}


class LedgerEntry(db.Model):
    """One change to a partner's balance (or a commission's state): who, when, why, how much.

    The balance in a currency is the sum of its entries' `amount`: what the vendor owes the partner
    (negative when a clawback is still to be netted).
    """

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    commission_id: Mapped[int | None] = mapped_column(ForeignKey("commissions.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 3), default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3))
    # A clawback waiting to be netted has no batch; the batch that nets it (or pays a commission) is set here.
    payout_batch_id: Mapped[int | None] = mapped_column(ForeignKey("payout_batches.id", ondelete="SET NULL"),
                                                        index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str | None] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor: Mapped[User | None] = relationship()
    partner_org: Mapped[Organization] = relationship()

    __table_args__ = (Index("ix_ledger_entries_partner_currency_at", "partner_org_id", "currency", "at"),)

    @property
    def label(self) -> str:
        return ENTRY_LABELS[EntryKind(self.kind)]

    @property
    def actor_name(self) -> str:
        if self.actor is not None:
            return f"{self.actor.name} ({self.actor.organization.name})"
        return self.actor_label or "System"


class BatchStatus(str, enum.Enum):
    OPEN = "open"
    PAID = "paid"
    CANCELLED = "cancelled"


class PayoutBatch(db.Model):
    """Approved commissions of one currency, selected to be paid together."""

    __tablename__ = "payout_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10), default=BatchStatus.OPEN.value, index=True)
    total_amount: Mapped[Decimal] = mapped_column(Numeric(14, 3), default=Decimal(0))
    reference: Mapped[str | None] = mapped_column(String(120))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    paid_by: Mapped[User | None] = relationship(foreign_keys=[paid_by_id])


class PayeeAccount(db.Model):
    """Where a partner organization is paid. The details are Fernet tokens; pages show them masked."""

    __tablename__ = "payee_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), unique=True)
    method: Mapped[str] = mapped_column(String(10))  # bank | paypal
    account_name: Mapped[str] = mapped_column(String(200), default="")
    details_encrypted: Mapped[str] = mapped_column(Text)  # IBAN and BIC, or the PayPal email
    tax_id_encrypted: Mapped[str | None] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship()
