"""Leads sent to resellers (deal registrations come with the lead-to-deal issue)."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.accounts import Organization
from portal.models.referrals import Referral
from portal.models.types import UTCDateTime, utcnow


class LeadStatus(str, enum.Enum):
    NEW = "new"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    CONVERTED = "converted"
    CLOSED = "closed"


class Lead(db.Model):
    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id", ondelete="SET NULL"), index=True)
    assigned_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    status: Mapped[str] = mapped_column(String(20), default=LeadStatus.NEW.value)
    respond_by: Mapped[datetime] = mapped_column(UTCDateTime())
    decline_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    referral: Mapped[Referral | None] = relationship()
    assigned_org: Mapped[Organization] = relationship()

    __table_args__ = (Index("ix_leads_assigned_status", "assigned_org_id", "status", "created_at"),)
