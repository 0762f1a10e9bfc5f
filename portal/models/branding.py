"""The vendor's uploaded images: the logo and the favicon derived from it, stored in the database.

Stored here rather than on disk so that every web process (and a new one behind the load balancer)
serves the same bytes without shared storage.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.types import UTCDateTime, utcnow


class BrandImage(db.Model):
    __tablename__ = "brand_images"

    # "logo" or "favicon": one row each, replaced by the next upload.
    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(40))
    # Hex sha256 of `content`: the ETag, and the version in the page's image URL.
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
