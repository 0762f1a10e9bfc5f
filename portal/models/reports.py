"""Saved report views, who pinned them, and the export files the worker writes."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.accounts import Organization, User
from portal.models.types import UTCDateTime, utcnow


class Sharing(str, enum.Enum):
    PRIVATE = "private"
    ORGANIZATION = "organization"  # everyone in the owner's organization
    INTERNAL = "internal"          # every internal user (internal owners only)


class SavedView(db.Model):
    """A named report state: the entity and the query string that rebuilds it (filters, sort, columns)."""

    __tablename__ = "saved_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    entity: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(120))
    query: Mapped[str] = mapped_column(Text, default="")
    sharing: Mapped[str] = mapped_column(String(20), default=Sharing.PRIVATE.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    owner: Mapped[User] = relationship()
    organization: Mapped[Organization] = relationship()

    __table_args__ = (Index("ix_saved_views_org_sharing", "organization_id", "sharing"),)


class SavedViewPin(db.Model):
    """A user pinned a view they can see: it appears in their navigation."""

    __tablename__ = "saved_view_pins"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    view_id: Mapped[int] = mapped_column(ForeignKey("saved_views.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    view: Mapped[SavedView] = relationship()

    __table_args__ = (UniqueConstraint("user_id", "view_id", name="uq_saved_view_pins_user_view"),)


class ExportStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ExportJob(db.Model):
    """A large export the worker writes to a file; its link works for its user until `expires_at`."""

    __tablename__ = "export_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    entity: Mapped[str] = mapped_column(String(30))
    query: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(String(10))  # csv | xlsx
    status: Mapped[str] = mapped_column(String(10), default=ExportStatus.QUEUED.value)
    total_rows: Mapped[int] = mapped_column(default=0)
    done_rows: Mapped[int] = mapped_column(default=0)
    file_name: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    @property
    def percent(self) -> int:
        if self.status == ExportStatus.DONE.value:
            return 100
        return int(100 * self.done_rows / self.total_rows) if self.total_rows else 0
