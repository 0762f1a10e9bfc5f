"""Commission plans and the commissions earned on won referrals."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.accounts import Organization
from portal.models.referrals import Referral
from portal.models.types import UTCDateTime, utcnow


class PlanKind(str, enum.Enum):
    FLAT = "flat"
    PERCENT = "percent"


class CommissionStatus(str, enum.Enum):
    # Won in another currency than the plan's, with no rate to use: a person decides the amount.
    HELD = "held"
    PENDING = "pending"
    APPROVED = "approved"
    PAID = "paid"
    VOID = "void"


class CommissionPlan(db.Model):
    """Applies to a partner tier, or (override) to one organization; the override wins."""

    __tablename__ = "commission_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(10))
    flat_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    percent: Mapped[Decimal | None] = mapped_column(Numeric(6, 3))
    cap_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    tier: Mapped[str | None] = mapped_column(String(40))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    # referral: pays the referrer of a won referral; reseller: pays the reseller of a won deal registration.
    audience: Mapped[str] = mapped_column(String(10), default="referral", server_default="referral")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organization: Mapped[Organization | None] = relationship()

    @property
    def summary(self) -> str:
        if self.kind == PlanKind.FLAT.value:
            text = f"{self.flat_amount} {self.currency} flat"
        else:
            text = f"{self.percent.normalize():f} % of the won amount"
        if self.cap_amount is not None:
            text += f", capped at {self.cap_amount} {self.currency}"
        return text


class ExchangeRate(db.Model):
    """One unit of `base_currency` is worth `rate` units of `quote_currency` from `valid_on` on.

    The admin keeps this table; a commission converted with a rate records the rate and its date.
    """

    __tablename__ = "exchange_rates"

    id: Mapped[int] = mapped_column(primary_key=True)
    base_currency: Mapped[str] = mapped_column(String(3))
    quote_currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Numeric(18, 8))
    valid_on: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("base_currency", "quote_currency", "valid_on",
                                       name="uq_exchange_rates_pair_day"),)


class Commission(db.Model):
    """The referrer's commission names its referral; the reseller's names its deal registration.

    One won deal that came from a referral earns both, each once (the unique keys), each paid on its own.

    Always in its plan's currency. `amount` is empty only while the commission is held.

    `source_amount`/`source_currency` are what the deal was won at; when they are in another currency
    than the commission, `fx_rate` (commission currency per source unit) and `fx_rate_date` say how
    it was converted.
    """

    __tablename__ = "commissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"), unique=True)
    deal_registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("deal_registrations.id", ondelete="CASCADE"), unique=True)
    partner_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("commission_plans.id", ondelete="SET NULL"))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    currency: Mapped[str] = mapped_column(String(3))
    source_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    source_currency: Mapped[str | None] = mapped_column(String(3))
    fx_rate: Mapped[Decimal | None] = mapped_column(Numeric(18, 8))
    fx_rate_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default=CommissionStatus.PENDING.value)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The ledger (services/ledger.py): pending until `hold_until`, then approved by the sweep; paid in a batch.
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    payout_batch_id: Mapped[int | None] = mapped_column(ForeignKey("payout_batches.id", ondelete="SET NULL"),
                                                        index=True)

    referral: Mapped[Referral | None] = relationship(backref=db.backref("commission", uselist=False))
    deal_registration = relationship("DealRegistration", backref=db.backref("commission", uselist=False))
    plan: Mapped[CommissionPlan | None] = relationship()

    partner_org: Mapped[Organization] = relationship()

    __table_args__ = (Index("ix_commissions_partner_status", "partner_org_id", "status"),)

    @property
    def source_number(self) -> str:
        record = self.referral or self.deal_registration
        return record.number if record is not None else "—"

    @property
    def company_name(self) -> str:
        if self.referral is not None:
            return self.referral.company_name
        return self.deal_registration.customer_company if self.deal_registration is not None else "—"
