"""Serializing writers that must not overlap, on PostgreSQL and on SQLite alike."""
from __future__ import annotations

from sqlalchemy import func, select, text

from portal.extensions import db


def lock_key(key: str) -> None:
    """Serialize the callers that name the same `key` until their transactions end.

    PostgreSQL: a transaction-scoped advisory lock, so callers with other keys run in parallel.
    SQLite has one write lock for the whole database, and a transaction that has already read
    cannot take it once another writer has committed ("database is locked" at once, without
    waiting). So on SQLite the read-only transaction is ended and a new one starts with a
    harmless write, which waits (busy_timeout) for the lock: every writer is serialized.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        if db.session.new or db.session.dirty or db.session.deleted:
            raise RuntimeError("lock_key must come before the use case writes anything")
        db.session.rollback()
        db.session.execute(text("PRAGMA user_version = 0"))
    else:
        db.session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))
