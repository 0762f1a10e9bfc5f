"""The database in concurrent use: SQLite's settings and when a transaction takes the write lock.

SQLite (the embedded default) has one write lock for the whole file. In WAL mode readers never wait,
and a writer waits for the lock up to the busy timeout — unless its transaction began as a reader:
once another writer has committed since its snapshot, it fails at once with "database is locked"
(SQLITE_BUSY_SNAPSHOT; waiting cannot help). So a transaction that may write takes the lock up front
with `BEGIN IMMEDIATE`, and one that only reads begins deferred so that reads stay parallel.

Which transactions may write is said by their context, not guessed per statement:
- a request whose method changes state (POST, PUT, PATCH, DELETE),
- a job (the RQ workers, embedded or not) and the `flask portal` commands,
- and, explicitly, a read-only context that turns out to write (a GET that counts a click):
  `take_write_lock()` ends its reading transaction and begins again with the lock.
Everything else (GET pages, a test's own session) begins deferred, so it never holds the lock that
another process is waiting for. PostgreSQL needs none of this: every call here is a no-op there;
and on both a transaction that only read ends with COMMIT (`_commit_reads`).
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db

log = logging.getLogger(__name__)
# Generous: a writer waits for the one before it, never fails because the other took a while.
BUSY_TIMEOUT_MS = 30_000
_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "REPLAC"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_writing: contextvars.ContextVar[bool] = contextvars.ContextVar("portal_db_writing", default=False)


def configure(app: Flask, engine: Engine) -> None:
    """Bind the SQLite settings to `engine` and the write intent to the app's requests; end a
    transaction that only read with COMMIT."""
    if engine.dialect.name == "sqlite":
        _configure_sqlite(app, engine)
    _commit_reads(app, engine)  # after SQLite's own BEGIN listener: that BEGIN wrote nothing


def _configure_sqlite(app: Flask, engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection, _record):
        # pysqlite's own transaction handling breaks SAVEPOINTs; let SQLAlchemy emit BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # WAL with NORMAL is durable against a process crash (the SIGKILL drill), not a power cut.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn):
        immediate = _writing.get()
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        conn.info["portal_write_locked"] = immediate

    @event.listens_for(engine, "before_cursor_execute")
    def _check_locked(conn, _cursor, statement, _parameters, _context, _executemany):
        # A request writing in a transaction that began as a reader can fail under load: say which.
        if has_request_context() and not conn.info.get("portal_write_locked") and \
                statement.lstrip()[:6].upper() in _WRITES:
            message = (f"{request.method} {request.path} writes in a reading transaction; "
                       "call portal.database.take_write_lock() before the use case writes")
            if app.testing:
                raise RuntimeError(message)
            log.warning(message)

    def _request_intent():
        request.environ["portal.db_writing"] = _writing.set(request.method not in _SAFE_METHODS)

    def _request_done(_exc):
        token = request.environ.pop("portal.db_writing", None)
        if token is not None:
            _writing.reset(token)

    # First, before anything (the user loader) opens a transaction for the request.
    app.before_request_funcs.setdefault(None, []).insert(0, _request_intent)
    app.teardown_request(_request_done)


_WROTE = "portal_wrote"


def _commit_reads(app: Flask, engine: Engine) -> None:
    """End a transaction that only read with COMMIT, not the ROLLBACK the session's close sends.

    psycopg prepares a statement on the server once a connection has run it five times, and so
    PostgreSQL stops planning it anew (planning the session check or a list's page cost more than
    running it). But psycopg forgets every prepared statement on a ROLLBACK, and a page that only
    reads ended with one: no statement of a GET was ever prepared. For a transaction that wrote
    nothing the two are the same (on SQLite too); one that wrote, or holds changes not flushed,
    still rolls back.
    """
    @event.listens_for(engine, "begin")
    def _began(conn):
        conn.info.pop(_WROTE, None)

    @event.listens_for(engine, "before_cursor_execute")
    def _wrote(conn, _cursor, statement, _parameters, _context, _executemany):
        # Anything but a SELECT may have written (a WITH may hold an INSERT; a SAVEPOINT marks a write).
        if statement.lstrip()[:6].upper() != "SELECT":
            conn.info[_WROTE] = True

    @app.teardown_appcontext  # runs before Flask-SQLAlchemy's, which closes the session
    def _end_reading_transaction(exc):
        if exc is not None or not db.session.registry.has():
            return
        session = db.session()
        if not session.in_transaction() or session.new or session.dirty or session.deleted \
                or session.connection().info.get(_WROTE):
            return
        # The session closes next, leaving its objects loaded, as a rollback did: a commit must not
        # expire them (code may read an object after its app context ended).
        expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
        try:
            session.commit()
        except SQLAlchemyError:  # the connection went away: closing the session rolls back as before
            log.exception("could not end a reading transaction")
        finally:
            session.expire_on_commit = expire_on_commit


@contextlib.contextmanager
def writing() -> Iterator[None]:
    """Transactions begun inside take the write lock up front (a job, a command)."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


@contextlib.contextmanager
def reading() -> Iterator[None]:
    """Transactions begun inside only read (a wait that polls): they leave the write lock to others."""
    token = _writing.set(False)
    try:
        yield
    finally:
        _writing.reset(token)


def take_write_lock() -> None:
    """Make the current transaction a writer's before it writes anything (SQLite; no-op on PostgreSQL).

    A transaction that began as a reader is ended (it must not have written) and a new one begins
    with the lock, waiting for the writer before it; the rows it read are loaded again, fresh.
    """
    if db.session.get_bind().dialect.name != "sqlite":
        return
    session = db.session()
    if session.in_transaction():
        if session.connection().info.get("portal_write_locked"):
            return
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("take the write lock before the use case writes anything")
        session.rollback()
    token = _writing.set(True)
    try:
        session.connection()  # begins now, with the lock
    finally:
        _writing.reset(token)


def insert_missing(model, rows: list[dict], *, conflict_on: list[str]) -> int:
    """Insert the `rows` of `model` that are not there yet (by the unique `conflict_on` columns), in
    the caller's transaction; returns how many went in. Two callers racing both succeed (INSERT … ON
    CONFLICT DO NOTHING on SQLite and PostgreSQL alike): a get-or-create without the race."""
    if not rows:
        return 0
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model).values(rows).on_conflict_do_nothing(index_elements=conflict_on)
    return len(db.session.execute(statement.returning(model.__table__.primary_key.columns.values()[0])).all())
