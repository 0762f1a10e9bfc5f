"""Column types shared by the models: UTC datetimes that come back timezone-aware on every database."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime

from portal import clock
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return clock.now()


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC (SQLite keeps no offset), always returned aware in UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous: pass an aware UTC datetime")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)
