"""Serializing writers that must not overlap, on PostgreSQL and on SQLite alike."""
from __future__ import annotations

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.orm import Session

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
        advisory_lock(db.session, key)


def advisory_lock(session: Session, key: str) -> None:
    """PostgreSQL only: wait for, then hold until the transaction ends, the advisory lock named `key`
    (for a caller that already holds SQLite's one write lock, such as a commit's hook)."""
    session.execute(_ADVISORY_LOCK, {"key": key})


# Built once: a lock is taken on every submission, and building the statement cost more than running it.
_ADVISORY_LOCK = select(func.pg_advisory_xact_lock(func.hashtextextended(bindparam("key", type_=String()), 0)))
