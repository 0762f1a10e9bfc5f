"""Sync dry runs: what a connection's full sync would do to every record, computed with read calls
only (`portal.sync.dry_run`), kept for the admin to read before switching the connection to automatic."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.types import UTCDateTime, utcnow


class DryRunStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class CrmDryRun(db.Model):
    """One dry run of a connection (the latest is kept): its progress, its counts and its error."""

    __tablename__ = "crm_dry_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("crm_connections.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default=DryRunStatus.QUEUED.value)
    total: Mapped[int] = mapped_column(default=0)   # records to look at
    done: Mapped[int] = mapped_column(default=0)
    # {"records": {"create": n, "update": n, "link": n, "skip": n, "error": n},
    #  "objects": {"Deal": {"create": n, ...}, "Contact": {...}}}
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    calls: Mapped[int] = mapped_column(default=0)   # CRM calls it made (all of them reads)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    items: Mapped[list[CrmDryRunItem]] = relationship(back_populates="dry_run", cascade="all, delete-orphan",
                                                      passive_deletes=True, order_by="CrmDryRunItem.id")

    @property
    def running(self) -> bool:
        return self.status in (DryRunStatus.QUEUED.value, DryRunStatus.RUNNING.value)


class CrmDryRunItem(db.Model):
    """What the sync would do to one record: its action on its own CRM record, the fields
    (old → new) and the related records it brings along (a HubSpot deal's contact and company)."""

    __tablename__ = "crm_dry_run_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    dry_run_id: Mapped[int] = mapped_column(ForeignKey("crm_dry_runs.id", ondelete="CASCADE"))
    entity_type: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int] = mapped_column()
    label: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(10))        # create | update | link | skip | error
    crm_object: Mapped[str] = mapped_column(String(40))    # "Deal", "Lead", "Opportunity"
    crm_id: Mapped[str | None] = mapped_column(String(40))
    changes: Mapped[list] = mapped_column(JSON, default=list)   # [[field, old, new], ...]
    related: Mapped[list] = mapped_column(JSON, default=list)   # [{action, crm_object, crm_id, changes, message}]
    message: Mapped[str | None] = mapped_column(Text)

    dry_run: Mapped[CrmDryRun] = relationship(back_populates="items")

    __table_args__ = (Index("ix_crm_dry_run_items_run_action", "dry_run_id", "action"),)
