"""The sync engine: push, pull and full sync for any connector and any entity type.

It knows no CRM: it asks the connector registry for the connection's connector and the entity
registry for what a record is, and owns what every CRM shares:
- pending work: the links still to push, per entity type (the database, not Redis, says what is
  pending), in batches of the connector's size, a few passes so that changes made meanwhile go too;
- the version check: a link is marked clean only if no change arrived while it was pushed;
- link state (synced, error and its last error), the integration log, full-sync progress;
- the transaction discipline: fetch in one short transaction, call the CRM with none open, write
  the results in another, so no job holds the database while a CRM answers;
- the one way in: a CRM's change is applied through the entity's inbound service use case.
The request budget (shared across processes) lives in `sync/http.py` and `sync/budget.py`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Callable

from sqlalchemy import bindparam, func, literal, update

from portal.errors import DomainError
from portal.extensions import db
from portal.models import CrmConnection, CrmLink, SyncLog
from portal.models.crm import LinkState
from portal.models.types import utcnow
from portal.sync import adoption, conflicts, connectors, entities, mapping, qualification
from portal.sync.connectors.base import Batch, Change, Outgoing, PushResult, Related
from portal.sync.http import CallEvent, CrmError

PASSES = 3  # changes committed while a pass ran are picked up by the next one
RETRY_WITHIN = timedelta(seconds=60)  # the sweep's interval: a failed push is tried again by then
FIELDS_ENSURED = "schema_ok"


@dataclass
class PushStats:
    pushed: int = 0
    created: int = 0
    errors: int = 0
    skipped: int = 0
    calls: int = 0
    batches: int = 0


@dataclass
class PullStats:
    seen: int = 0
    applied: int = 0
    status_changes: int = 0
    errors: int = 0


class _CallLog:
    """Collects the client's retried/failed calls, written to the integration log with the batch."""

    def __init__(self, connection_id: int):
        self.connection_id = connection_id
        self.rows: list[SyncLog] = []

    def __call__(self, event: CallEvent) -> None:
        if event.status is not None and event.status < 400:
            return
        self.rows.append(SyncLog(connection_id=self.connection_id, direction="push", action="http",
                                 status="retry" if event.retrying else "error",
                                 message=f"{event.status or 'network'}: {event.message}"[:2000],
                                 request_summary=f"{event.method} {event.path}"))

    def flush(self) -> None:
        if self.rows:
            db.session.add_all(self.rows)
            self.rows = []


# ---- push ---------------------------------------------------------------------------------------

INITIAL_SYNC_PENDING = connectors.base.INITIAL_SYNC_PENDING


def push(connection_id: int, *, on_batch: Callable[[int], None] | None = None,
         max_batches: int | None = None, initial: tuple[str, ...] = ()) -> PushStats:
    """Push every pending link of a connection. Retryable failures re-raise (the job retries).
    Entity types whose initial sync is pending (it reads the CRM first) are pushed only by it (`initial`)."""
    stats = PushStats()
    connection = db.session.get(CrmConnection, connection_id)
    if connection is None or not connection.active:
        return stats
    calls = _CallLog(connection_id)
    connector = connectors.for_connection(connection, on_event=calls)
    options = dict(connection.options or {})
    db.session.commit()  # the CRM is called with no transaction open
    try:
        if not options.get(FIELDS_ENSURED):
            _ensure_fields(connection_id, connector, options)
        for _ in range(PASSES):
            sent = 0
            for entity in entities_of(connector, options):
                if entity.name in (options.get(INITIAL_SYNC_PENDING) or ()) and entity.name not in initial:
                    continue
                last_id = 0
                while max_batches is None or stats.batches < max_batches:
                    fetched = _fetch_batch(connection_id, entity, connector, after_id=last_id)
                    if fetched is None:
                        break
                    batch, versions, last_id = fetched
                    sent += _push_batch(connection_id, connector, batch, versions, stats, calls)
                    stats.batches += 1
                    if on_batch is not None:
                        on_batch(len(versions))
            _associate(connection_id, connector, calls)
            if not sent:
                break
        calls.flush()
        # It works (again): the failure is over; failure_notified_at stays until the admins hear it.
        _update_connection(connection_id, last_push_at=utcnow(), failing_since=None, last_error=None,
                           next_retry_at=None)
        db.session.commit()
    except CrmError as err:
        db.session.rollback()
        calls.flush()
        db.session.add(SyncLog(connection_id=connection_id, direction="push", action="batch", status="error",
                               message=f"{err.status or 'network'}: {err.message}"[:2000],
                               request_summary="push stopped; pending records stay queued"))
        _record_failure(connection_id, connector.label, err)
        db.session.commit()
        raise
    finally:
        stats.calls = connector.calls
    return stats


def _record_failure(connection_id: int, label: str, err: CrmError) -> None:
    """The connection's health after a push stopped: since when it fails, why, and when it is tried
    again (the sweep re-drives pending pushes every minute, whatever RQ's retry schedule says)."""
    now = utcnow()
    since = CrmConnection.__table__.c.failing_since
    _update_connection(connection_id, failing_since=func.coalesce(since, literal(now, since.type)),
                       last_error=describe(err, label)[:2000], last_error_at=now, next_retry_at=now + RETRY_WITHIN)


def describe(err: CrmError, label: str) -> str:
    """A failed call in words for the person reading the record's panel."""
    if err.status is None:
        return f"{label} could not be reached: {err.message}"
    if err.status in (401, 403):
        return f"{label} refused the connection's token ({err.status}: {err.message}). Enter a new token."
    if err.status == 429:
        return f"{label}'s rate limit is used up for now ({err.message})."
    if err.retryable:
        return f"{label} is not answering normally ({err.status}: {err.message})."
    return f"{label} refused the request ({err.status}: {err.message})."


def entities_of(connector, options: dict) -> list[entities.Entity]:
    """The entity types this connection syncs: the connector's, as far as the connection's options
    turn them on (organization sync waits for the matching wizard)."""
    return [entities.get(name) for name in connector.entities
            if name in entities.ENTITIES and connectors.syncs(connector, name, options)]


def _ensure_fields(connection_id: int, connector, options: dict) -> None:
    """The fields the connector needs in the CRM (its unique ids...), checked once per connection."""
    connector.ensure_fields()
    _update_connection(connection_id, options={**options, FIELDS_ENSURED: True})
    db.session.commit()


def _update_connection(connection_id: int, **values) -> None:
    """Write connection columns without reading the row first: a transaction that starts by writing
    never has to upgrade a read lock (SQLite) while another worker writes."""
    table = CrmConnection.__table__
    db.session.execute(update(table).where(table.c.id == connection_id).values(**values))


def _fetch_batch(connection_id: int, entity: entities.Entity, connector, *, after_id: int):
    """The next dirty links of one entity type and their records' values, read in one short
    transaction; the links leave it detached, to be written back with the results."""
    links = list(db.session.scalars(
        db.select(CrmLink).where(CrmLink.connection_id == connection_id, CrmLink.entity_type == entity.name,
                                 CrmLink.state != LinkState.UNLINKED.value, CrmLink.dirty.is_(True),
                                 CrmLink.id > after_id)
        .order_by(CrmLink.id).limit(connector.batch_size)))
    if not links:
        db.session.commit()
        return None
    batch, records = build_batch(entity, connector, links)
    for link in links:
        if link.entity_id not in records:  # deleted in the portal: nothing to push
            db.session.delete(link)
    items = batch.items
    versions = {item.link.id: item.link.version for item in items}
    for item in items:
        db.session.expunge(item.link)
    db.session.commit()
    return batch, versions, links[-1].id


def build_batch(entity: entities.Entity, connector, links: list[CrmLink]) -> tuple[Batch, dict]:
    """The batch of these links' records (their values, read in the caller's transaction, and what
    the connector prepares for it) and the records by id; a link whose record is gone has no item."""
    records = entity.load(link.entity_id for link in links)
    items = []
    for link in links:
        record = records.get(link.entity_id)
        if record is not None:
            values = entity.values(record)
            items.append(Outgoing(link, values, str(record.id), entity.contact_email(values),
                                  entity.company_domain(values)))
    batch = Batch(entity.name, entity.crm_object, items)
    connector.prepare(batch)
    return batch, records


def _push_batch(connection_id: int, connector, batch: Batch, versions: dict[int, int], stats: PushStats,
                calls: _CallLog) -> int:
    """Call the CRM for one batch, then write the results in one transaction; returns how many were sent."""
    if not batch.items:
        return 0
    results = {r.link_id: r for r in connector.push(batch)}
    for item in batch.items:
        db.session.add(item.link)
    db.session.add_all(batch.rows)
    now = utcnow()
    for item in batch.items:
        link = item.link
        result = results.get(link.id) or PushResult(link.id, "error", message="The connector gave no answer for it.")
        if result.status == "error":
            link.state, link.last_error = LinkState.ERROR.value, result.message[:2000]
            stats.errors += 1
        else:
            link.state, link.last_error, link.last_pushed_at = LinkState.SYNCED.value, None, now
            if result.status == "ok":
                stats.pushed += 1
                stats.created += int(result.created)
            else:
                stats.skipped += 1
        if result.status != "skipped":
            db.session.add(SyncLog(connection_id=connection_id, entity_type=batch.entity, entity_id=link.entity_id,
                                   direction="push", action=result.action, status=result.status,
                                   message=result.message[:2000], request_summary=result.request_summary))
    calls.flush()
    db.session.flush()
    # Clean even on a validation error: the record waits for its next change or a "Sync now".
    table = CrmLink.__table__
    db.session.execute(update(table).where(table.c.id == bindparam("link_id"),
                                           table.c.version == bindparam("seen_version")).values(dirty=False),
                       [{"link_id": link_id, "seen_version": version} for link_id, version in versions.items()])
    db.session.commit()
    return len(batch.items)


def _associate(connection_id: int, connector, calls: _CallLog) -> None:
    """Every pushed record's related records (contact, company) whose associations are not
    confirmed yet: read, call, then confirm only those whose related ids did not change meanwhile."""
    wanted = func.coalesce(CrmLink.contact_crm_id, "") + ":" + func.coalesce(CrmLink.company_crm_id, "")
    rows = db.session.execute(db.select(CrmLink.id, CrmLink.crm_id, CrmLink.contact_crm_id, CrmLink.company_crm_id)
                              .where(CrmLink.connection_id == connection_id,
                                     CrmLink.state != LinkState.UNLINKED.value, CrmLink.crm_id.is_not(None),
                                     func.coalesce(CrmLink.associated_key, "") != wanted)
                              .order_by(CrmLink.id)).all()
    db.session.commit()
    if not rows:
        return
    related = [Related(*row) for row in rows]
    connector.associate(related)
    table = CrmLink.__table__
    db.session.execute(
        update(table).where(table.c.id == bindparam("link_id"),
                            func.coalesce(table.c.contact_crm_id, "") == bindparam("contact"),
                            func.coalesce(table.c.company_crm_id, "") == bindparam("company"))
        .values(associated_key=bindparam("key")),
        [{"link_id": r.link_id, "contact": r.contact_crm_id or "", "company": r.company_crm_id or "",
          "key": f"{r.contact_crm_id or ''}:{r.company_crm_id or ''}"} for r in related])
    calls.flush()
    db.session.commit()


# ---- pull ---------------------------------------------------------------------------------------

def pull(connection_id: int, *, entity_names: tuple[str, ...] | None = None,
         since_ms: int | None = None) -> PullStats:
    """Apply the changes the CRM reports since the watermark (or since `since_ms`, for the named
    entity types only: an initial sync reads everything). Retryable failures re-raise (the job retries)."""
    stats = PullStats()
    connection = db.session.get(CrmConnection, connection_id)
    if connection is None or not connection.active:
        return stats
    connector = connectors.for_connection(connection)
    mappings, rules = mapping.of(connection), qualification.of(connection)
    options = dict(connection.options or {})
    newest = connection.pull_watermark_ms or 0
    watermark = newest if since_ms is None else since_ms
    db.session.commit()
    if not options.get(FIELDS_ENSURED):
        # A search may filter on the connector's own fields: on a connection that never pushed they do not exist yet.
        _ensure_fields(connection_id, connector, options)
    for entity in entities_of(connector, options):
        if entity_names is not None and entity.name not in entity_names:
            continue
        wanted = sorted(set(mapping.pulled_crm_fields(mappings, entity.crm_object))
                        | set(qualification.watched_properties(rules, stage_property=connector.stage_property)))
        for change in connector.changes_since(entity.name, watermark, wanted):
            stats.seen += 1
            if change.deleted:
                _apply_deletion(connection_id, connector, entity, change)
            elif change.related:
                for link_id in _related_links(connection_id, entity, change):
                    _apply_change(connection_id, connector, entity, mappings, rules, change, stats, link_id=link_id,
                                  options=options)
            else:
                _apply_change(connection_id, connector, entity, mappings, rules, change, stats, options=options)
            newest = max(newest, change.modified_ms)
    _update_connection(connection_id, pull_watermark_ms=newest, last_pull_at=utcnow())
    db.session.commit()
    return stats


def _find_link(connection_id: int, entity: entities.Entity, change: Change) -> CrmLink | None:
    ids = [change.crm_id] + ([change.replaces] if change.replaces else [])
    link = db.session.scalar(db.select(CrmLink).where(CrmLink.connection_id == connection_id,
                                                      CrmLink.crm_id.in_(ids)).order_by(CrmLink.id))
    if link is None and change.portal_id and change.portal_id.isdigit():
        link = db.session.scalar(db.select(CrmLink).where(
            CrmLink.connection_id == connection_id, CrmLink.entity_type == entity.name,
            CrmLink.entity_id == int(change.portal_id)))
        if link is not None and link.crm_id not in (None, *ids):
            link = None
    return link


def _related_links(connection_id: int, entity: entities.Entity, change: Change) -> list[int]:
    """The links whose related record (their contact) this change is of."""
    ids = db.session.scalars(db.select(CrmLink.id).where(
        CrmLink.connection_id == connection_id, CrmLink.entity_type == entity.name,
        CrmLink.state != LinkState.UNLINKED.value, CrmLink.contact_crm_id == change.crm_id).order_by(CrmLink.id))
    found = list(ids)
    db.session.commit()
    return found


def _apply_deletion(connection_id: int, connector, entity: entities.Entity, change: Change) -> None:
    """The CRM deleted a linked record: the link is unlinked (a "Sync now" makes a new record) and
    the integration log says so in words."""
    link = db.session.scalar(db.select(CrmLink).where(CrmLink.connection_id == connection_id,
                                                      CrmLink.entity_type == entity.name,
                                                      CrmLink.crm_id == change.crm_id))
    if link is None or link.state == LinkState.UNLINKED.value:
        db.session.commit()
        return
    record = entity.load([link.entity_id]).get(link.entity_id)
    name_of = getattr(connector, "record_noun", None)  # a connector whose records change object says which
    noun = name_of(change.crm_id) if name_of else connector.object_labels.get(entity.crm_object, entity.crm_object)
    name = entity.label(record) if record is not None else f"{entity.name} {link.entity_id}"
    then = f"; {entity.after_deletion.format(noun=noun)}" if entity.after_deletion else ""
    message = (f"{connector.label} {noun} {change.crm_id} was deleted in {connector.label}: {name} is no longer "
               f"linked to it and later syncs leave it alone{then}.")
    link.state, link.dirty, link.last_error = LinkState.UNLINKED.value, False, message
    link.crm_id = link.contact_crm_id = link.company_crm_id = link.associated_key = link.url = None
    link.pushed_values, link.remote_values, link.remote_modified_ms = {}, {}, None
    link.last_pulled_at = utcnow()
    db.session.add(SyncLog(connection_id=connection_id, entity_type=entity.name, entity_id=link.entity_id,
                           direction="pull", action="delete", status="ok", message=message,
                           request_summary=request_summary({"deleted": change.crm_id})))
    db.session.commit()


def _apply_change(connection_id: int, connector, entity: entities.Entity, mappings, rules, change: Change,
                  stats: PullStats, *, link_id: int | None = None, options: dict | None = None) -> None:
    """One CRM change, in its own transaction, through the entity's inbound use case (`link_id`:
    the link whose related record it is of)."""
    link = _find_link(connection_id, entity, change) if link_id is None else db.session.get(CrmLink, link_id)
    if link is None and entity.create_from_crm is not None and not change.portal_id and not change.related:
        made = adoption.create_from_change(connection_id, connector, entity, mappings, change, options or {})
        stats.applied += int(made is not None and made.created)
        stats.errors += int(made is not None and made.error)
        if made is not None and made.link_id is not None and not made.created:
            # An existing record (a user of that email) is linked now: its values meet as a change
            # would, so the master decides what differs.
            _apply_change(connection_id, connector, entity, mappings, rules, change, stats, link_id=made.link_id,
                          options=options)
        return
    if link is None or link.state == LinkState.UNLINKED.value or link.entity_type != entity.name or (
            not change.related and link.remote_modified_ms is not None
            and change.modified_ms <= link.remote_modified_ms):
        db.session.commit()  # not ours, or seen already (the connector may re-read a few seconds back)
        return
    record = entity.load([link.entity_id]).get(link.entity_id)
    if record is None:
        db.session.commit()
        return
    values = entity.values(record)
    previous = {**(link.pushed_values or {}), **(link.remote_values or {})}
    current = change.properties
    if change.related:
        # A related record's first values are its initial ones; its change keeps the record's own.
        if all(previous.get(k) == v for k, v in current.items()):
            db.session.commit()
            return
        previous = {**current, **previous}
        current = {**(link.remote_values or {}), **current}
    if entity.mapped:
        fields = {name: value for name, value in mapping.pull_values(mappings, entity.crm_object, current,
                                                                     entity.fields).items()
                  if _changed(previous, mappings, entity.crm_object, name, current) and values.get(name) != value}
        if entity.master_option:
            fields = conflicts.resolve(connection_id, connector, entity, mappings, link, values, current, fields,
                                       (options or {}).get(entity.master_option))
        target = _target_status(connector, entity, mappings, rules, previous, current, values.get("status"))
    else:  # the connector translated the record itself
        fields = {name: value for name, value in change.fields.items() if values.get(name) != value}
        target = (change.status, change.reason) if change.status and change.status != values.get("status") else None
    summary = request_summary({k: current.get(k) for k in (connector.stage_property, connector.amount_property)})
    # Remember what the CRM holds: none of it is pushed back (no ping-pong).
    link.remote_values = current
    link.pushed_values = {**(link.pushed_values or {}),
                          **{k: v for k, v in current.items() if k in (link.pushed_values or {})}}
    if not change.related:
        link.crm_id = change.crm_id
        link.remote_modified_ms = change.modified_ms
        if change.contact_crm_id or change.company_crm_id:
            link.contact_crm_id = change.contact_crm_id or link.contact_crm_id
            link.company_crm_id = change.company_crm_id or link.company_crm_id
    link.last_pulled_at = utcnow()
    link.last_error = None
    if entity.master_option and not fields and target is None:
        db.session.commit()  # the CRM holds what the portal holds (often the portal's own write read back)
        return
    message = ", ".join(fields) or "no mapped field changed"
    if target is not None:
        message += f"; status -> {target[0]}"
    db.session.add(SyncLog(connection_id=connection_id, entity_type=entity.name, entity_id=link.entity_id,
                           direction="pull", action=f"update {entity.name}", status="ok", message=message,
                           request_summary=summary))
    try:
        entity.apply_change(record, fields=fields, status=target[0] if target else None,
                            reason=target[1] if target else None,
                            amount=_positive(current.get(connector.amount_property)),
                            actor_label=connector.label, connection_id=connection_id)
    except DomainError as err:
        db.session.rollback()
        stats.errors += 1
        link = db.session.get(CrmLink, link.id)
        link.last_error = f"Pull: {err.message}"
        link.remote_values = current
        if not change.related:
            link.remote_modified_ms = change.modified_ms
        db.session.add(SyncLog(connection_id=connection_id, entity_type=entity.name, entity_id=link.entity_id,
                               direction="pull", action=f"update {entity.name}", status="error", message=err.message,
                               request_summary=summary))
        db.session.commit()
        return
    stats.applied += 1
    stats.status_changes += int(target is not None)


def _changed(previous: dict, mappings, crm_object: str, portal_field: str, current: dict) -> bool:
    for m in mappings:
        if m.portal_field == portal_field and m.crm_object == crm_object and m.pulls:
            return previous.get(m.crm_field) != current.get(m.crm_field)
    return False


def _target_status(connector, entity, mappings, rules, previous: dict, current: dict, status: str | None):
    """(status key, reason) from the qualification rules first, then the stage's picklist map."""
    outcome = qualification.evaluate(rules, previous, current, stage_property=connector.stage_property,
                                     crm_label=connector.label)
    if outcome is not None and outcome.status != status:
        return outcome.status, outcome.reason
    stage = current.get(connector.stage_property)
    if stage and stage != previous.get(connector.stage_property):
        target = mapping.status_for(mappings, stage, status)
        if target is not None and target != status:
            noun = connector.object_labels.get(entity.crm_object, entity.crm_object).lower()
            return target, f"{connector.label} {noun} stage changed to {stage!r}"
    return None


def _positive(value) -> Decimal | None:
    value = mapping.from_crm(value, Decimal)
    return value if value and value > 0 else None


def request_summary(props: dict) -> str:
    """The properties sent or read, for the integration log."""
    return json.dumps(props, sort_keys=True, default=str)[:500]


# ---- full sync ----------------------------------------------------------------------------------

def full_sync(connection_id: int) -> PushStats:
    """The hourly sync: link every record, pull what the CRM changed, push what the portal changed."""
    connection = db.session.get(CrmConnection, connection_id)
    if connection is None or not connection.active:
        return PushStats()
    link_all(connection)
    connection.full_sync_started_at, connection.full_sync_finished_at = utcnow(), None
    connection.full_sync_done = 0
    connection.full_sync_total = db.session.scalar(db.select(func.count(CrmLink.id)).where(
        CrmLink.connection_id == connection.id, CrmLink.state != LinkState.UNLINKED.value))
    connection.options = {k: v for k, v in (connection.options or {}).items() if k != "full_sync_error"}
    db.session.commit()
    try:
        return _full_sync_steps(connection_id)
    except Exception as err:
        # Finish it as failed, or the page would show it running (and poll) forever.
        db.session.rollback()
        connection = db.session.get(CrmConnection, connection_id)
        connection.full_sync_finished_at = utcnow()
        connection.options = {**(connection.options or {}),
                              "full_sync_error": _full_sync_error(err, connection.provider)[:500]}
        db.session.commit()
        raise


def _full_sync_error(err: Exception, provider: str) -> str:
    if isinstance(err, CrmError):
        return describe(err, connectors.get(provider).label)
    return err.message if isinstance(err, DomainError) else str(err)


def _full_sync_steps(connection_id: int) -> PushStats:
    pull(connection_id)
    # Every linked record is re-checked; unchanged ones cost no call (only changes are sent).
    table = CrmLink.__table__
    db.session.execute(update(table).where(table.c.connection_id == connection_id,
                                           table.c.state != LinkState.UNLINKED.value)
                       .values(dirty=True, version=table.c.version + 1))
    db.session.commit()

    def progress(count: int) -> None:
        connections = CrmConnection.__table__
        db.session.execute(update(connections).where(connections.c.id == connection_id)
                           .values(full_sync_done=connections.c.full_sync_done + count))
        db.session.commit()

    stats = push(connection_id, on_batch=progress)
    connection = db.session.get(CrmConnection, connection_id)
    connection.full_sync_finished_at = utcnow()
    connection.full_sync_done = connection.full_sync_total
    db.session.commit()
    return stats


def link_all(connection: CrmConnection, names: tuple[str, ...] | None = None) -> None:
    """A link (dirty) for every record of the connector's entity types (or of `names`) that the
    connection syncs and that has none yet (a record unlinked by a person keeps its unlinked link)."""
    now = utcnow()
    for entity in entities_of(connectors.get(connection.provider), connection.options or {}):
        if not entity.link_all or (names is not None and entity.name not in names):
            continue
        linked = db.select(CrmLink.entity_id).where(CrmLink.connection_id == connection.id,
                                                    CrmLink.entity_type == entity.name)
        ids = list(db.session.scalars(entity.all_ids(connection.options or {}).where(entity.model.id.not_in(linked))))
        if ids:
            db.session.execute(CrmLink.__table__.insert(), [
                {"connection_id": connection.id, "entity_type": entity.name, "entity_id": i,
                 "crm_object": entity.crm_object, "state": LinkState.PENDING.value, "dirty": True, "version": 1,
                 "pushed_values": {}, "remote_values": {}, "created_at": now, "updated_at": now} for i in ids])
    db.session.commit()
