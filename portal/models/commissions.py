"""Commission plans and the commissions earned on won referrals."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.accounts import Organization
from portal.models.referrals import Referral
from portal.models.types import UTCDateTime, utcnow


class PlanKind(str, enum.Enum):
    FLAT = "flat"
    PERCENT = "percent"


class CommissionStatus(str, enum.Enum):
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
    flat_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    percent: Mapped[Decimal | None] = mapped_column(Numeric(6, 3))
    cap_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    tier: Mapped[str | None] = mapped_column(String(40))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
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


class Commission(db.Model):
    __tablename__ = "commissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"), unique=True)
    partner_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("commission_plans.id", ondelete="SET NULL"))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10), default=CommissionStatus.PENDING.value)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    referral: Mapped[Referral] = relationship(backref=db.backref("commission", uselist=False))
    plan: Mapped[CommissionPlan | None] = relationship()

    __table_args__ = (Index("ix_commissions_partner_status", "partner_org_id", "status"),)
