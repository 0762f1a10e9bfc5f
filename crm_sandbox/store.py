"""The sandboxes' own database: tables, engine, and one session per request.

Plain SQLAlchemy 2.0 on its own metadata, never the portal's tables. Record properties are kept
as a JSON text column (read back whole), while everything a request looks records up by (unique
values, search terms, modification stamps) lives in indexed columns or index tables so that
batch and search calls stay O(batch) on stores of tens of thousands of records.
"""
from __future__ import annotations

import contextvars
import os
from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app, g, request
from sqlalchemy.orm import Session, sessionmaker

metadata = sa.MetaData()

# --- HubSpot -----------------------------------------------------------------------------------

hs_objects = sa.Table(
    "hs_objects", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("object_type", sa.String(20), nullable=False),
    sa.Column("properties", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),   # ms since epoch, UTC
    sa.Column("updated_at", sa.BigInteger, nullable=False),   # ms since epoch, UTC
    sa.Column("archived", sa.Boolean, nullable=False, default=False),
    sa.Index("ix_hs_objects_type_id", "object_type", "archived", "id"),
    sa.Index("ix_hs_objects_type_updated", "object_type", "updated_at"),
    sqlite_autoincrement=True,
)

# One row per (record, property) so search filters and sorts are index lookups, not JSON scans.
# Record ids are unique across object types, so the type is not needed here.
hs_values = sa.Table(
    "hs_values", metadata,
    sa.Column("object_id", sa.Integer, nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("value_lower", sa.Text, nullable=False),
    sa.Column("value_num", sa.Float, nullable=True),
    sa.Index("ix_hs_values_object", "object_id"),
    sa.Index("ix_hs_values_text", "name", "value_lower"),
    sa.Index("ix_hs_values_num", "name", "value_num"),
)

# Contact email and custom hasUniqueValue properties: the database enforces uniqueness, and
# upsert/read by idProperty is one indexed lookup per batch.
hs_unique = sa.Table(
    "hs_unique", metadata,
    sa.Column("object_type", sa.String(20), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("value", sa.String(512), nullable=False),
    sa.Column("object_id", sa.Integer, nullable=False),
    sa.UniqueConstraint("object_type", "name", "value", name="uq_hs_unique_value"),
    sa.Index("ix_hs_unique_object", "object_id"),
)

hs_properties = sa.Table(
    "hs_properties", metadata,
    sa.Column("object_type", sa.String(20), primary_key=True),
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("archived", sa.Boolean, nullable=False, default=False),
)

hs_associations = sa.Table(
    "hs_associations", metadata,
    sa.Column("from_id", sa.Integer, nullable=False),
    sa.Column("to_type", sa.String(20), nullable=False),
    sa.Column("to_id", sa.Integer, nullable=False),
    sa.Column("type_id", sa.Integer, nullable=False),
    sa.Column("category", sa.String(30), nullable=False),
    sa.UniqueConstraint("from_id", "to_type", "to_id", "type_id", name="uq_hs_association"),
    sa.Index("ix_hs_associations_to", "to_id"),
)

# --- Salesforce --------------------------------------------------------------------------------

sf_records = sa.Table(
    "sf_records", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(18), nullable=False, unique=True),
    sa.Column("sobject", sa.String(40), nullable=False),
    sa.Column("fields", sa.Text, nullable=False),
    sa.Column("modstamp", sa.BigInteger, nullable=False),    # SystemModstamp, ms since epoch
    sa.Column("is_deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("deleted_at", sa.BigInteger, nullable=True),
    sa.Index("ix_sf_records_modstamp", "sobject", "modstamp"),
    sa.Index("ix_sf_records_sobject", "sobject", "is_deleted", "seq"),
    sqlite_autoincrement=True,
)

sf_external_ids = sa.Table(
    "sf_external_ids", metadata,
    sa.Column("sobject", sa.String(40), nullable=False),
    sa.Column("field", sa.String(80), nullable=False),
    sa.Column("value", sa.String(255), nullable=False),
    sa.Column("record_id", sa.String(18), nullable=False),
    sa.UniqueConstraint("sobject", "field", "value", name="uq_sf_external_id"),
    sa.Index("ix_sf_external_ids_record", "record_id"),
)

# Every external-id value (unique or not) and every Email, lower-cased: upserts, relationship
# references by external id, duplicate rules and `WHERE Email IN (...)` are index lookups.
sf_lookup = sa.Table(
    "sf_lookup", metadata,
    sa.Column("sobject", sa.String(40), nullable=False),
    sa.Column("field", sa.String(80), nullable=False),
    sa.Column("value", sa.String(255), nullable=False),
    sa.Column("record_id", sa.String(18), nullable=False),
    sa.Index("ix_sf_lookup_value", "sobject", "field", "value"),
    sa.Index("ix_sf_lookup_record", "record_id"),
)

HUBSPOT_TABLES = (hs_objects, hs_values, hs_unique, hs_properties, hs_associations)
SALESFORCE_TABLES = (sf_records, sf_external_ids, sf_lookup)

# Set per request: writes take SQLite's write lock up front (BEGIN IMMEDIATE) so two writers wait
# on the busy timeout instead of failing when a read transaction tries to upgrade.
_immediate = contextvars.ContextVar("crm_sandbox_immediate", default=False)


class Store:
    """Engine and session factory of one sandbox app."""

    def __init__(self, url: str):
        self.url = url
        self.engine = _make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        metadata.create_all(self.engine)

    def wipe(self, session: Session, tables: tuple[sa.Table, ...]) -> None:
        for table in tables:
            session.execute(table.delete())

    def dispose(self) -> None:
        self.engine.dispose()


def _make_engine(url: str) -> sa.Engine:
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True)
    path = sa.engine.make_url(url).database
    if path and path != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own handling
        # would defer it and never take the write lock early).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")

    return engine


def current() -> Store:
    return current_app.extensions["crm_sandbox"].store


def session() -> Session:
    """The request's session; the app commits it after a successful response."""
    if "sandbox_session" not in g:
        _immediate.set(request.method not in ("GET", "HEAD", "OPTIONS"))
        g.sandbox_session = current().sessions()
        g.sandbox_after_commit = []
    return g.sandbox_session


def after_commit(callback: Callable[[], None]) -> None:
    """Run callback once the request's transaction has committed (never if it rolls back)."""
    session()
    g.sandbox_after_commit.append(callback)


def finish(commit: bool) -> None:
    """End the request's transaction; called by the app after each response.

    A composite subrequest runs in a nested request context of the same app context: its
    teardown leaves the outer request's transaction alone (`g.sandbox_nested`).
    """
    if g.get("sandbox_nested"):
        return
    db = g.pop("sandbox_session", None)
    callbacks = g.pop("sandbox_after_commit", [])
    if db is None:
        return
    try:
        if commit:
            db.commit()
        else:
            db.rollback()
    finally:
        db.close()
    if commit:
        for callback in callbacks:
            callback()
