"""Counts the dashboards show, kept per partner organization so that no dashboard scans the
referrals, commissions or deal registrations tables (services/tallies.py keeps them in the same transaction as the change)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class ReferralTally(db.Model):
    """How many referrals of one partner have one status in one currency, and their estimated value."""

    __tablename__ = "referral_tallies"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(40))
    stage: Mapped[str] = mapped_column(String(30))
    currency: Mapped[str] = mapped_column(String(3))
    referrals: Mapped[int] = mapped_column(default=0)
    estimated_value: Mapped[Decimal | None] = mapped_column(Numeric(19, 3))

    __table_args__ = (UniqueConstraint("partner_org_id", "status", "currency", name="uq_referral_tallies_key"),)


class ReferralMonthTally(db.Model):
    """Referrals of one partner submitted in a calendar month (UTC), and those won in it."""

    __tablename__ = "referral_month_tallies"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    submitted: Mapped[int] = mapped_column(default=0)
    won: Mapped[int] = mapped_column(default=0)

    __table_args__ = (UniqueConstraint("partner_org_id", "month", name="uq_referral_month_tallies_key"),)


class CommissionTally(db.Model):
    """The commissions of one partner in one status and currency: how many, and their sum."""

    __tablename__ = "commission_tallies"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    commissions: Mapped[int] = mapped_column(default=0)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 3))

    __table_args__ = (UniqueConstraint("partner_org_id", "status", "currency", name="uq_commission_tallies_key"),)


class DealTally(db.Model):
    """How many deal registrations of one partner have one status (the internal dashboard's counts)."""

    __tablename__ = "deal_tallies"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    deals: Mapped[int] = mapped_column(default=0)

    __table_args__ = (UniqueConstraint("partner_org_id", "status", name="uq_deal_tallies_key"),)
