"""Signed public-form tokens that were spent: each sends its form once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.types import UTCDateTime


class SpentToken(db.Model):
    """A spent one-time token (a public form's, or a webhook delivery's signature): its hash, until
    it would have expired anyway."""

    __tablename__ = "spent_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
