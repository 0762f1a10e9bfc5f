"""Serializing writers that must not overlap, on PostgreSQL and on SQLite alike."""
from __future__ import annotations

from sqlalchemy import func, select

from portal import database
from portal.extensions import db


def lock_key(key: str) -> None:
    """Serialize the callers that name the same `key` until their transactions end.

    PostgreSQL: a transaction-scoped advisory lock, so callers with other keys run in parallel.
    SQLite has one write lock for the whole database: the transaction takes it (portal/database.py),
    which serializes every writer.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        database.take_write_lock()
    else:
        db.session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))
