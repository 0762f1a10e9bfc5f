"""Small reads nearly every page makes (statuses, custom fields, settings, branding, which CRM
connections push automatically, the partners' names, pinned report views, a partner's own link,
the dashboards' counts and their rendered chart), cached per
process behind a version stamp, so that a page does not re-read them on every request.

Each area has a row in `cache_stamps`. A flush that writes any row of an area gives its stamp a
new random value in the same transaction (the hook is on every session, so no use case can
forget, and a rolled-back write rolls its stamp back too). A process reads all the stamps once per
transaction, one small query instead of the reads themselves, and serves a cached value only if it
was stored under the stamp it just read: a change committed by any process is seen by every
process on its next request (read once per request: one page sees one version). A transaction that wrote an area reads that area from the database
(never from, nor into, the cache) until it ends.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from itertools import chain
from typing import Any, Callable
from uuid import uuid4

from flask import has_request_context
from sqlalchemy import event, func, literal_column, text
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import (BrandImage, CacheStamp, CrmConnection, CustomField, Organization, OrgKind, ReferralLink,
                           ReferralStatus, SavedView, SavedViewPin, Setting)

STATUSES, CUSTOM_FIELDS, SETTINGS, CRM_CONNECTIONS = "statuses", "custom_fields", "settings", "crm_connections"
ORGANIZATIONS, SAVED_VIEWS, LINKS = "organizations", "saved_views", "links"
# The dashboards' counts (services/tallies.py). Its stamp changes at the end of every commit that
# changed a tally, never mid-transaction: the last row a writer locks, so writers cannot deadlock on it.
TALLIES = "tallies"


def _areas_of(obj) -> tuple[str, ...]:
    if isinstance(obj, ReferralStatus):
        return (STATUSES,)
    if isinstance(obj, CustomField):
        return (CUSTOM_FIELDS,)
    if isinstance(obj, (Setting, BrandImage)):
        return (SETTINGS,)
    if isinstance(obj, CrmConnection):
        return (CRM_CONNECTIONS,)
    # The branding falls back to the vendor organization's name.
    if isinstance(obj, Organization):
        return (ORGANIZATIONS, SETTINGS) if obj.kind == OrgKind.VENDOR.value else (ORGANIZATIONS,)
    if isinstance(obj, (SavedView, SavedViewPin)):
        return (SAVED_VIEWS,)
    if isinstance(obj, ReferralLink):  # its counters are Core updates: they leave the stamp
        return (LINKS,)
    return ()


# (area, key) -> (stamp, value), least recently used first. Values are immutable (tuples, frozen
# dataclasses, rendered Markup) or copied by the caller. Keys may name a user or an organization
# (pinned views, a partner's dashboard), so the cache is bounded: the least recently used go first.
_cache: OrderedDict[tuple[str, str], tuple[str, Any]] = OrderedDict()
_lock = threading.Lock()  # the threads of a worker share the cache
LIMIT = 4096


def cached(area: str, key: str, load: Callable[[], Any]) -> Any:
    """`load()`'s value for (area, key), from this process's cache when the area has not changed since."""
    session = db.session()
    if area in session.info.get("read_cache_written", ()) or _writes_pending(session, area):
        return load()
    stamp = _stamps(session).get(area, "")
    with _lock:
        entry = _cache.get((area, key))
        if entry is not None and entry[0] == stamp:
            _cache.move_to_end((area, key))
            return entry[1]
    value = load()
    with _lock:
        _cache[(area, key)] = (stamp, value)
        _cache.move_to_end((area, key))
        while len(_cache) > LIMIT:
            _cache.popitem(last=False)
    return value


def rows(area: str, key: str, query: Callable[[], Any]) -> tuple[tuple, ...]:
    """The rows of `query()` (a statement reading only `area`'s tables), cached as `cached` does."""
    return cached(area, key, lambda: tuple(tuple(row) for row in db.session.execute(query())))


def clear() -> None:
    """Forget everything cached in this process (the stamps make this unnecessary; tests use it)."""
    with _lock:
        _cache.clear()


def _stamps(session: Session) -> dict[str, str]:
    """The stored stamps: read once per request and transaction (outside a request, on every call:
    a job or a shell may hold a transaction open while other processes commit)."""
    stamps = session.info.get("read_cache_stamps")
    if stamps is None:
        stamps = dict(session.execute(_ALL_STAMPS).all())
        if has_request_context():
            session.info["read_cache_stamps"] = stamps
    return stamps


def stamps_column():
    """Every stored stamp as one string, a column for a query the request makes anyway (the session
    check): the stamps then come in its round trip. Hand its value to `prime()`."""
    return _STAMPS_COLUMN


# Built once: these run on every request, and building a statement costs about what running it does.
_ALL_STAMPS = db.select(CacheStamp.name, CacheStamp.version)
_STAMPS_COLUMN = (db.select(func.aggregate_strings(CacheStamp.name + literal_column("'='") + CacheStamp.version, ","))
                  .scalar_subquery())


# Text, in the upsert syntax PostgreSQL and SQLite share: SQLAlchemy does not cache the compiled
# form of an ON CONFLICT insert, and compiling it on every write cost more than running it.
_BUMP_STAMP = text("INSERT INTO cache_stamps (name, version) VALUES (:name, :version)"
                   " ON CONFLICT (name) DO UPDATE SET version = excluded.version")


def prime(value: str | None) -> None:
    """Keep the stamps `stamps_column()` read for this request's transaction, as `_stamps()` would."""
    session = db.session()
    if has_request_context() and "read_cache_stamps" not in session.info:
        session.info["read_cache_stamps"] = dict(part.split("=", 1) for part in value.split(",")) if value else {}


def _writes_pending(session: Session, area: str) -> bool:
    """Changed rows of `area` not flushed yet (the stamp query that would autoflush them may be cached)."""
    return any(area in _areas_of(obj) for obj in chain(session.new, session.dirty, session.deleted))


@event.listens_for(Session, "before_flush")
def _note_writes(session: Session, flush_context, instances) -> None:
    areas = {area for obj in chain(session.new, session.dirty, session.deleted) for area in _areas_of(obj)}
    if areas:
        session.info.setdefault("read_cache_pending", set()).update(areas)


def written(area: str, session: Session | None = None) -> None:
    """`area` was written past the ORM (a Core insert): give its stamp a new value, as a flush would."""
    session = session if session is not None else db.session()
    session.info.setdefault("read_cache_pending", set()).add(area)
    _bump_stamps(session, None)


@event.listens_for(Session, "after_flush")
def _bump_stamps(session: Session, flush_context) -> None:
    pending = session.info.pop("read_cache_pending", None)
    if not pending:
        return
    session.info.setdefault("read_cache_written", set()).update(pending)
    connection = session.connection()
    # Sorted, so two transactions that write the same areas lock their stamps in the same order.
    for area in sorted(pending):
        connection.execute(_BUMP_STAMP, {"name": area, "version": uuid4().hex})


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_transaction(session: Session, *previous) -> None:
    # A savepoint's end is not the transaction's: what it wrote is still uncommitted.
    if (previous[0].nested if previous else session.in_nested_transaction()):
        return
    for name in ("read_cache_stamps", "read_cache_written", "read_cache_pending"):
        session.info.pop(name, None)
