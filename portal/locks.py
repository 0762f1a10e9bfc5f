"""Serializing writers on one row, on PostgreSQL and on SQLite alike."""
from __future__ import annotations

from sqlalchemy import select, update

from portal.extensions import db


def lock_row(model, row_id: int) -> None:
    """Hold `row_id` of `model` until the transaction ends; a concurrent caller waits here.

    PostgreSQL: SELECT ... FOR UPDATE. SQLite has no row locks, and a transaction that has already
    read cannot take the write lock once another writer has committed ("database is locked" at
    once, without waiting). So on SQLite the read-only transaction is ended and a new one starts
    with a no-op write, which waits (busy_timeout) for the database's single write lock.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        if db.session.new or db.session.dirty or db.session.deleted:
            raise RuntimeError("lock_row must come before the use case writes anything")
        db.session.rollback()
        db.session.execute(update(model).where(model.id == row_id).values(id=model.id))
    else:
        db.session.execute(select(model.id).where(model.id == row_id).with_for_update())
