"""Leads sent to resellers, and the rules that hand them out in rotation."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, false
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
    close_reason: Mapped[str | None] = mapped_column(Text)
    # The rule that handed it out (None: sent by hand), and the reminder sent before respond_by.
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("lead_rules.id", ondelete="SET NULL"))
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Declined or expired and not handed on yet: the vendor's queue shows it as "needs a new reseller".
    needs_reseller: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    referral: Mapped[Referral | None] = relationship()
    assigned_org: Mapped[Organization] = relationship()

    rule: Mapped["LeadRule | None"] = relationship()

    __table_args__ = (Index("ix_leads_assigned_status", "assigned_org_id", "status", "created_at"),
                      Index("ix_leads_status_respond_by", "status", "respond_by"))


class LeadRule(db.Model):
    """Hand referrals out in rotation: those matching the rule go round robin to the eligible resellers.

    A referral matches when its company country is among `countries` (empty: any) and, when
    `field_key` names a select custom field, its value is among `field_values`. A reseller is eligible
    when it is an active partner or distributor whose tier is among `tiers` and country among `partner_countries`
    (empty: any).
    """

    __tablename__ = "lead_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(default=0)
    countries: Mapped[list] = mapped_column(JSON, default=list)
    field_key: Mapped[str | None] = mapped_column(String(40))
    field_values: Mapped[list] = mapped_column(JSON, default=list)
    tiers: Mapped[list] = mapped_column(JSON, default=list)
    partner_countries: Mapped[list] = mapped_column(JSON, default=list)
    # Where the rotation stands: the next lead goes to the first eligible reseller after this one.
    last_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
