"""Referrals, their status timeline, and the admin-defined statuses and custom fields."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Numeric, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.accounts import Organization, User
from portal.models.links import ReferralLink
from portal.models.types import UTCDateTime, utcnow


class Stage(str, enum.Enum):
    """The fixed meanings every referral status maps to (DESIGN.md §5); rules and reports use these."""

    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    SENT_TO_RESELLER = "sent_to_reseller"
    REJECTED = "rejected"
    WON_PAYMENT_PENDING = "won_payment_pending"
    WON_PAYMENT_COMPLETED = "won_payment_completed"
    LOST = "lost"


STAGE_LABELS = {
    Stage.SUBMITTED: "Submitted",
    Stage.ACCEPTED: "Accepted",
    Stage.SENT_TO_RESELLER: "Sent to reseller",
    Stage.REJECTED: "Rejected",
    Stage.WON_PAYMENT_PENDING: "Won, payment pending",
    Stage.WON_PAYMENT_COMPLETED: "Won, payment completed",
    Stage.LOST: "Lost",
}


class Source(str, enum.Enum):
    PORTAL = "portal"
    LINK = "link"
    CRM = "crm"


class Referral(db.Model):
    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    partner_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(10), default=Source.PORTAL.value)
    # A public submission: the partner's link it came through, and how: the link's own form
    # ("link") or the vendor's generic form with the first-visit cookie ("cookie").
    link_id: Mapped[int | None] = mapped_column(ForeignKey("referral_links.id", ondelete="SET NULL"), index=True)
    attributed_via: Mapped[str | None] = mapped_column(String(10))
    first_visit_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    contact_first_name: Mapped[str] = mapped_column(String(100), default="")
    contact_last_name: Mapped[str] = mapped_column(String(100), default="")
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_title: Mapped[str | None] = mapped_column(String(120))
    company_name: Mapped[str] = mapped_column(String(200), default="")
    company_domain: Mapped[str | None] = mapped_column(String(255))
    company_country: Mapped[str | None] = mapped_column(String(2))
    company_size: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text)
    estimated_value: Mapped[Decimal | None] = mapped_column(Numeric(15, 3))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    custom_fields: Mapped[dict] = mapped_column(JSON, default=dict)

    # `status` is the key of a ReferralStatus (what people see); `stage` its fixed meaning.
    status: Mapped[str] = mapped_column(String(40), default=Stage.SUBMITTED.value)
    stage: Mapped[str] = mapped_column(String(30), default=Stage.SUBMITTED.value)
    routing: Mapped[str | None] = mapped_column(String(10))  # direct | reseller
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    lost_reason: Mapped[str | None] = mapped_column(Text)
    won_amount: Mapped[Decimal | None] = mapped_column(Numeric(15, 3))
    won_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # flagged: possible duplicate waiting for an internal user's look; the candidates are recomputed
    duplicate_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    # A prospect's submission is told to the vendor, the partner and the prospect by the worker, after
    # the commit (services/links.py): set with the referral, cleared by the job; the sweep re-drives
    # one whose job was lost.
    announcement_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    partner_org: Mapped[Organization] = relationship(foreign_keys=[partner_org_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    link: Mapped[ReferralLink | None] = relationship()

    __table_args__ = (
        # The partner's list and dashboard: newest first within one organization. The lists' order
        # ends on the id, and so do these: a page is then found in the index alone (queries.py).
        Index("ix_referrals_partner_created", "partner_org_id", "created_at", "id"),
        Index("ix_referrals_partner_stage", "partner_org_id", "stage"),
        Index("ix_referrals_submitter_created", "submitted_by_id", "created_at"),
        # The internal review queue: submitted ones, oldest first.
        Index("ix_referrals_stage_created", "stage", "created_at", "id"),
        Index("ix_referrals_contact_email", "contact_email"),
        Index("ix_referrals_company_domain", "company_domain"),
        # The sweep's look for lost announcements: partial, so it holds the few in flight only. Each
        # predicate is the one SQLAlchemy writes for `where(Referral.announcement_pending)` there.
        Index("ix_referrals_announcement_pending", "created_at",
              postgresql_where=text("announcement_pending"), sqlite_where=text("announcement_pending = 1")),
    )

    @property
    def contact_name(self) -> str:
        return f"{self.contact_first_name} {self.contact_last_name}".strip()

    @property
    def partner_name(self) -> str:
        # A list row's column of the same name (services/referrals/queries.py): one template draws both.
        return self.partner_org.name

    @property
    def is_won(self) -> bool:
        return self.stage in (Stage.WON_PAYMENT_PENDING.value, Stage.WON_PAYMENT_COMPLETED.value)

    def __repr__(self) -> str:
        return f"<Referral {self.id} {self.number} {self.stage}>"


class StatusEvent(db.Model):
    """One step of a timeline: who moved what from where to where, when and why (also the audit trail)."""

    __tablename__ = "status_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(20))  # referral | lead | deal
    entity_id: Mapped[int] = mapped_column()
    from_status: Mapped[str | None] = mapped_column(String(40))
    to_status: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Who acted when no user did: "Prospect via referral link", "HubSpot", ...
    actor_label: Mapped[str | None] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_status_events_entity", "entity_type", "entity_id", "at"),)

    @property
    def actor_name(self) -> str:
        if self.actor is not None:
            return f"{self.actor.name} ({self.actor.organization.name})"
        return self.actor_label or "System"


class ReferralStatus(db.Model):
    """A status name people see; admins rename them and add intermediate ones, each with a fixed meaning."""

    __tablename__ = "referral_statuses"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(80))
    stage: Mapped[str] = mapped_column(String(30))
    position: Mapped[int] = mapped_column(default=0)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)


class CustomField(db.Model):
    """An admin-defined field of referrals or of deal registrations: on the form, the detail page and in filters."""

    __tablename__ = "custom_fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(10))  # text | number | date | select
    scope: Mapped[str] = mapped_column(String(10), default="referral", server_default="referral")  # referral | deal
    options: Mapped[list] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    # Who is asked: internal (only internal users see it), partners (their form and pages), or
    # public (partners and the prospect's public form). Required applies where the field is asked.
    audience: Mapped[str] = mapped_column(String(10), default="partners", server_default="partners")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(default=0)
