"""In-app notifications: the list behind the unread count in the navigation."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column

from portal.extensions import db
from portal.models.accounts import User
from portal.models.types import UTCDateTime, utcnow


class Notification(db.Model):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    link: Mapped[str | None] = mapped_column(String(500))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at", "created_at"),)


# The unread count the navigation shows on every page, loadable with the user in the same query
# (`undefer(User.unread_notifications)`); otherwise it is read on first access. It counts up to
# UNREAD_COUNTED ("99+" beyond): a vendor manager who never opens the list gets a notification
# with every submission, and counting all of them on every page would cost more with each.
UNREAD_COUNTED = 100
_unread = (select(Notification.id).where(Notification.user_id == User.id, Notification.read_at.is_(None))
           .correlate(User).limit(UNREAD_COUNTED).subquery())
User.unread_notifications = column_property(
    select(func.count()).select_from(_unread).correlate(User).scalar_subquery(),
    deferred=True,
)
