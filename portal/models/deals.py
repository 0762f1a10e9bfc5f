"""Deal registrations: a reseller (or a distributor on its behalf) claims a customer deal for a protected period.

Modelled for the CRM sync that follows (`deal_registration` entity): a number, a status, an amount
beside its currency, the end customer's company and contact.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.accounts import Organization, User
from portal.models.pipeline import Lead
from portal.models.referrals import Referral
from portal.models.types import UTCDateTime, utcnow


class DealStatus(str, enum.Enum):
    SUBMITTED = "submitted"
    PRE_APPROVED = "pre_approved"
    APPROVED = "approved"
    REJECTED = "rejected"
    WON = "won"
    LOST = "lost"
    EXPIRED = "expired"


DEAL_STATUS_LABELS = {
    DealStatus.SUBMITTED: "Submitted",
    DealStatus.PRE_APPROVED: "Pre-approved",
    DealStatus.APPROVED: "Approved",
    DealStatus.REJECTED: "Rejected",
    DealStatus.WON: "Won",
    DealStatus.LOST: "Lost",
    DealStatus.EXPIRED: "Expired",
}
# status value -> the name people see, in workflow order (the list filters' choices).
DEAL_STATUS_NAMES = {status.value: label for status, label in DEAL_STATUS_LABELS.items()}
# A registration that still claims its customer: a new one for the same customer is a conflict.
OPEN_DEAL_STATUSES = (DealStatus.SUBMITTED.value, DealStatus.PRE_APPROVED.value, DealStatus.APPROVED.value)


class DealRegistration(db.Model):
    __tablename__ = "deal_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    # The reseller the deal belongs to (and the partner user who owns it there).
    partner_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Who filled the form: the owner, a colleague, or a distributor's user on the partner's behalf.
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    distributor_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    hidden_from_distributor: Mapped[bool] = mapped_column(Boolean, default=False)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"), index=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id", ondelete="SET NULL"), index=True)

    customer_company: Mapped[str] = mapped_column(String(200), default="")
    customer_domain: Mapped[str | None] = mapped_column(String(255), index=True)
    customer_country: Mapped[str | None] = mapped_column(String(2))
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str | None] = mapped_column(String(254), index=True)
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_title: Mapped[str | None] = mapped_column(String(120))
    products: Mapped[str | None] = mapped_column(Text)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(15, 3))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    expected_close: Mapped[date | None] = mapped_column(Date)
    custom_fields: Mapped[dict] = mapped_column(JSON, default=dict)

    status: Mapped[str] = mapped_column(String(20), default=DealStatus.SUBMITTED.value)
    # flagged by the conflict check: internal users see the conflicting records on the review page
    conflict_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    vendor_owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    lost_reason: Mapped[str | None] = mapped_column(Text)
    won_amount: Mapped[Decimal | None] = mapped_column(Numeric(15, 3))
    won_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The end of the partner's protection; the sweep expires the registration after it.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expiry_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A pending extension request: set while an internal user has not answered it.
    extension_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    extension_reason: Mapped[str | None] = mapped_column(Text)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    partner_org: Mapped[Organization] = relationship(foreign_keys=[partner_org_id])
    distributor_org: Mapped[Organization | None] = relationship(foreign_keys=[distributor_org_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    registered_by: Mapped[User | None] = relationship(foreign_keys=[registered_by_id])
    vendor_owner: Mapped[User | None] = relationship(foreign_keys=[vendor_owner_id])
    lead: Mapped[Lead | None] = relationship()
    referral: Mapped[Referral | None] = relationship()

    __table_args__ = (
        # The partner's list: newest first within one organization (ending on the id, as the list's
        # order does: a page is found in the index alone).
        Index("ix_deal_registrations_partner_created", "partner_org_id", "created_at", "id"),
        # The internal queue: submitted and pre-approved ones, oldest first, read in order from a partial
        # index (an IN over two statuses cannot walk the (status, created_at) index in date order).
        Index("ix_deal_registrations_queue", "created_at", "id",
              postgresql_where=text("status IN ('submitted', 'pre_approved')"),
              sqlite_where=text("status IN ('submitted', 'pre_approved')")),
        # Lists by status; the sweep: approved ones by expiry.
        Index("ix_deal_registrations_status_created", "status", "created_at"),
        Index("ix_deal_registrations_status_expires", "status", "expires_at"),
        # The queue's first page: approved ones whose partner asked for more time, oldest request first.
        # Partial, so it holds only the few waiting requests (without it, a scan of the whole table).
        Index("ix_deal_registrations_extension_requests", "extension_requested_at",
              postgresql_where=text("status = 'approved' AND extension_requested_at IS NOT NULL"),
              sqlite_where=text("status = 'approved' AND extension_requested_at IS NOT NULL")),
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_DEAL_STATUSES

    @property
    def status_label(self) -> str:
        return DEAL_STATUS_LABELS[DealStatus(self.status)]

    # A list row's columns of the same names (services/deals/queries.py): one template draws both.
    @property
    def partner_name(self) -> str:
        return self.partner_org.name

    @property
    def distributor_name(self) -> str | None:
        return self.distributor_org.name if self.distributor_org is not None else None

    def __repr__(self) -> str:
        return f"<DealRegistration {self.id} {self.number} {self.status}>"


class DistributorAssignment(db.Model):
    """A partner buys through this distributor (two-tier distribution)."""

    __tablename__ = "distributor_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    partner_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    distributor_org: Mapped[Organization] = relationship(foreign_keys=[distributor_org_id])
    partner_org: Mapped[Organization] = relationship(foreign_keys=[partner_org_id])

    __table_args__ = (UniqueConstraint("distributor_org_id", "partner_org_id", name="uq_distributor_assignments_pair"),)
