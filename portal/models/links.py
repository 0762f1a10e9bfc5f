"""Personalized referral links that partners share, and the visitors that came through them."""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.accounts import Organization, User
from portal.models.types import UTCDateTime, utcnow


def new_code() -> str:
    # 12 random bytes: 96 bits, 16 URL-safe characters; guessing a live code is hopeless.
    return secrets.token_urlsafe(12)


class ReferralLink(db.Model):
    __tablename__ = "referral_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    # The partner user who shares it; kept (as null) if that user is ever deleted.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, default=new_code)
    campaign: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Counters change with one `UPDATE ... SET n = n + 1`, never read-modify-write.
    clicks: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    submissions: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    partner_org: Mapped[Organization] = relationship()
    user: Mapped[User | None] = relationship()

    @property
    def owner_name(self) -> str:
        return self.user.name if self.user is not None else self.partner_org.name

    def __repr__(self) -> str:
        return f"<ReferralLink {self.id} {self.campaign!r} active={self.active}>"


class LinkVisit(db.Model):
    """One row per (link, visitor): what makes `clicks` count unique visitors, not page loads.

    `visitor_hash` is an HMAC of the visitor id (a cookie value, or derived from the address);
    no raw address or cookie value is stored.
    """

    __tablename__ = "link_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("referral_links.id", ondelete="CASCADE"))
    visitor_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("link_id", "visitor_hash", name="uq_link_visits_link_visitor"),)
