"""The organization matching wizard (issue #14): one run per start, the CRM Accounts it fetched, and a
row per portal organization with the suggested Account and the admin's decision.

The decision is also written as the organization's `CrmLink` (what the initial sync reads); the row
keeps what the wizard needs to show and resume: the suggestion, its score and reason, who decided.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.types import UTCDateTime, utcnow


class Master(str, enum.Enum):
    """Whose values win in the initial sync when both sides have a record."""

    PORTAL = "portal"
    CRM = "salesforce"


class Decision(str, enum.Enum):
    LINK = "link"          # accept the suggested Account
    SELECT = "select"      # an Account the admin searched for
    CREATE = "create"      # create a new Account for the organization
    SKIP = "skip"          # do not sync this organization


class OrgMatchRun(db.Model):
    """One walk through the wizard for one connection. It exists only once the admin confirmed that
    the sync flag and status are set on the matching Accounts (step 1)."""

    __tablename__ = "crm_org_match_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("crm_connections.id", ondelete="CASCADE"), index=True)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    master: Mapped[str | None] = mapped_column(String(20))
    accounts_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fetch_error: Mapped[str | None] = mapped_column(Text)
    # Set when the admin confirmed the counts and the initial sync was started (the run is done).
    sync_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    rows: Mapped[list[OrgMatchRow]] = relationship(back_populates="run", cascade="all, delete-orphan",
                                                   passive_deletes=True)


class OrgMatchAccount(db.Model):
    """A CRM Account fetched for a run (flagged for sync), kept so paging never asks the CRM again."""

    __tablename__ = "crm_org_match_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crm_org_match_runs.id", ondelete="CASCADE"))
    crm_id: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(255))
    website: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str | None] = mapped_column(String(60))
    # Company domains the Account is known by: its website's and its contacts' email domains.
    domains: Mapped[str] = mapped_column(Text, default="")
    normalized_name: Mapped[str] = mapped_column(String(255), default="")

    __table_args__ = (UniqueConstraint("run_id", "crm_id", name="uq_crm_org_match_accounts_crm_id"),)

    @property
    def domain_list(self) -> list[str]:
        return [d for d in self.domains.split(" ") if d]


class OrgMatchRow(db.Model):
    """One portal organization in a run: the suggested Account (with score and reason) and the decision."""

    __tablename__ = "crm_org_match_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crm_org_match_runs.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    suggested_crm_id: Mapped[str | None] = mapped_column(String(40))
    score: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str | None] = mapped_column(String(500))
    decision: Mapped[str | None] = mapped_column(String(10))
    crm_id: Mapped[str | None] = mapped_column(String(40))          # the Account linked (link/select)
    account_name: Mapped[str | None] = mapped_column(String(255))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    run: Mapped[OrgMatchRun] = relationship(back_populates="rows")
    organization = relationship("Organization", lazy="joined")

    __table_args__ = (
        UniqueConstraint("run_id", "organization_id", name="uq_crm_org_match_rows_org"),
        Index("ix_crm_org_match_rows_decision", "run_id", "decision"),
    )
