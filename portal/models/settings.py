"""Portal-wide settings chosen by internal admins, one JSON value per key."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.types import UTCDateTime, utcnow


class Setting(db.Model):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class CacheStamp(db.Model):
    """The version of one area of small, often-read rows (statuses, custom fields, settings).

    Processes cache those reads and compare their copy's stamp with this row's; a write to the area
    gives it a new random value in the same transaction (services/read_cache.py).
    """

    __tablename__ = "cache_stamps"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[str] = mapped_column(String(32))
