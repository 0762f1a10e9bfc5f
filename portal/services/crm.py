"""CRM integration use cases: connections, mappings, rules, marking work, sync now, unlink, the log.

What services and views call. `mark_dirty(referral)` runs inside the caller's transaction: it marks
the referral's `CrmLink` dirty (creating it) and enqueues the coalesced push job `crm-push-{id}` (RQ job ids allow no colon)
after the commit (DESIGN.md §2). The sync itself lives in `portal.sync.engine`.
"""
from __future__ import annotations

import base64
import contextlib
import contextvars
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy import func

from portal import queues
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.models import CrmConnection, CrmLink, FieldMapping, QualificationRule, Referral, SyncLog
from portal.models.crm import ExistingPolicy, LinkState, Provider, SyncTrigger
from portal.models.types import utcnow
from portal.sync import hubspot, mapping, qualification
from portal.sync.http import Client, CrmError

log = logging.getLogger(__name__)

PUSH_JOB = "portal.jobs.crm_push"
PULL_JOB = "portal.jobs.crm_pull"
FULL_SYNC_JOB = "portal.jobs.crm_full_sync"

# The connection whose changes are being applied by a pull: marking its own link dirty again
# would push the CRM's value straight back to it (ping-pong).
_pulling: contextvars.ContextVar[int | None] = contextvars.ContextVar("crm_pulling", default=None)


# ---- secrets -----------------------------------------------------------------------------------

def _fernet() -> Fernet:
    key = current_app.config.get("CRM_ENCRYPTION_KEY")
    if key:
        return Fernet(key.encode() if isinstance(key, str) else key)
    # Derived from SECRET_KEY (domain-separated), so a deployment needs no extra setting.
    digest = hashlib.sha256(b"portal-crm-credentials:" + current_app.config["SECRET_KEY"].encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(plain: str | None) -> str | None:
    return _fernet().encrypt(plain.encode()).decode() if plain else None


def decrypt(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as err:
        raise DomainError("The stored CRM credentials cannot be read (was the key changed?). "
                          "Enter the token again.", field="token") from err


# ---- connections ------------------------------------------------------------------------------

def list_connections() -> list[CrmConnection]:
    return list(db.session.scalars(db.select(CrmConnection).order_by(CrmConnection.id)))


def get_connection(connection_id: int) -> CrmConnection:
    connection = db.session.get(CrmConnection, connection_id)
    if connection is None:
        raise NotFound()
    return connection


def create_connection(*, name: str, base_url: str, token: str, provider: str = Provider.HUBSPOT.value,
                      webhook_secret: str | None = None, sync_trigger: str = SyncTrigger.AUTO.value,
                      existing_policy: str = ExistingPolicy.FILL_EMPTY.value,
                      settings: dict | None = None) -> CrmConnection:
    """Create a connection with the default field mappings. Raises DomainError for bad input."""
    if provider != Provider.HUBSPOT.value:
        raise DomainError("Only HubSpot connections are available so far.", field="provider")
    if not (token or "").strip():
        raise DomainError("Enter the private-app access token.", field="token")
    connection = CrmConnection(provider=provider, settings=dict(settings or {}), account={})
    _apply_settings(connection, name=name, base_url=base_url, sync_trigger=sync_trigger,
                    existing_policy=existing_policy)
    connection.token_encrypted = encrypt(token.strip())
    connection.webhook_secret_encrypted = encrypt((webhook_secret or "").strip() or None)
    for position, m in enumerate(mapping.default_mappings()):
        connection.mappings.append(_mapping_row(m, position))
    db.session.add(connection)
    db.session.commit()
    return connection


def update_connection(connection: CrmConnection, *, name: str, base_url: str, sync_trigger: str,
                      existing_policy: str, active: bool = True, token: str | None = None,
                      webhook_secret: str | None = None) -> CrmConnection:
    """Change the settings; a blank token or secret keeps the stored one (it is never shown again)."""
    _apply_settings(connection, name=name, base_url=base_url, sync_trigger=sync_trigger,
                    existing_policy=existing_policy)
    connection.active = bool(active)
    if (token or "").strip():
        connection.token_encrypted = encrypt(token.strip())
    if (webhook_secret or "").strip():
        connection.webhook_secret_encrypted = encrypt(webhook_secret.strip())
    db.session.commit()
    return connection


def _apply_settings(connection, *, name, base_url, sync_trigger, existing_policy) -> None:
    base_url = (base_url or "").strip().rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise DomainError("Enter the API base URL, e.g. https://api.hubapi.com.", field="base_url")
    if sync_trigger not in {t.value for t in SyncTrigger}:
        raise DomainError("Choose automatic or manual.", field="sync_trigger")
    if existing_policy not in {p.value for p in ExistingPolicy}:
        raise DomainError("Choose what happens to an existing customer.", field="existing_policy")
    connection.name = (name or "").strip()[:120] or "HubSpot"
    connection.base_url = base_url
    connection.sync_trigger = sync_trigger
    connection.existing_policy = existing_policy


def token(connection: CrmConnection) -> str:
    plain = decrypt(connection.token_encrypted)
    if not plain:
        raise DomainError("This connection has no token yet.", field="token")
    return plain


def webhook_secret(connection: CrmConnection) -> str | None:
    return decrypt(connection.webhook_secret_encrypted)


def connector(connection: CrmConnection, **client_options) -> hubspot.HubSpot:
    """The HubSpot connector for a connection (a fresh requests session; budgets are shared)."""
    settings = connection.settings or {}
    client = Client(connection.base_url, token(connection), budget_key=("crm", connection.id),
                    burst=int(settings.get("burst", 100)),
                    search_per_second=int(settings.get("search_per_second", 5)), **client_options)
    return hubspot.HubSpot(client, version=settings.get("api_version", "v3"))


@dataclass
class TestResult:
    ok: bool
    message: str


def test_connection(connection: CrmConnection) -> TestResult:
    """Call the API with the stored token: the account's pipelines, or the CRM's own error."""
    try:
        crm = connector(connection, max_retries=1, max_wait_seconds=5)
        pipelines = crm.pipelines("deals")
    except CrmError as err:
        return TestResult(False, f"HubSpot answered {err.status or 'nothing'}: {err.message}")
    except DomainError as err:
        return TestResult(False, err.message)
    labels = ", ".join(p.get("label", p.get("id", "?")) for p in pipelines) or "none"
    connection.account = {"pipelines": [{"id": p["id"], "label": p.get("label"),
                                         "stages": [{"id": s["id"], "label": s.get("label")}
                                                    for s in p.get("stages", [])]} for p in pipelines],
                          "checked_at": utcnow().isoformat()}
    db.session.commit()
    return TestResult(True, f"Connected to HubSpot. Deal pipelines: {labels}.")


def crm_properties(connection: CrmConnection, crm_object: str) -> list[dict]:
    """The live property list of a CRM object, for the mappings editor. Raises CrmError."""
    plural = {"deal": "deals", "contact": "contacts", "company": "companies"}[crm_object]
    return [{"name": p["name"], "label": p.get("label", p["name"]), "type": p.get("type"),
             "options": [o.get("value") for o in p.get("options") or []]}
            for p in connector(connection).properties(plural)]


# ---- mappings and rules -------------------------------------------------------------------------

def portal_fields() -> list[tuple[str, str]]:
    """(name, label) of every portal field a mapping may use: the standard ones, then custom fields."""
    from portal.models import CustomField
    custom = db.session.scalars(db.select(CustomField).order_by(CustomField.position, CustomField.id))
    return ([(name, label) for name, (label, _kind, _pull) in mapping.PORTAL_FIELDS.items()] +
            [(mapping.CUSTOM_PREFIX + f.key, f"{f.label} (custom)") for f in custom])


def portal_picklists() -> dict[str, list[tuple[str, str]]]:
    """Portal field -> its (value, label) options, for value maps: the statuses and custom selects."""
    from portal.models import CustomField
    from portal.services import statuses
    lists = {"status": [(s.key, s.label) for s in statuses.all_statuses()]}
    for f in db.session.scalars(db.select(CustomField).where(CustomField.kind == "select")):
        lists[mapping.CUSTOM_PREFIX + f.key] = [(o, o) for o in f.options or []]
    return lists


def mappings_of(connection: CrmConnection) -> list[mapping.Mapping]:
    return [mapping.Mapping(m.crm_object, m.crm_field, m.portal_field, m.direction, m.default_value,
                            dict(m.value_map or {})) for m in connection.mappings]


def save_mappings(connection: CrmConnection, mappings: list[mapping.Mapping]) -> None:
    """Replace the connection's mappings. Raises DomainError if a required mapping is missing."""
    from portal.models import CustomField
    custom = set(db.session.scalars(db.select(CustomField.key)))
    mapping.validate(mappings, custom_keys=custom)
    connection.mappings.clear()
    db.session.flush()
    for position, m in enumerate(mappings):
        connection.mappings.append(_mapping_row(m, position))
    db.session.commit()


def _mapping_row(m: mapping.Mapping, position: int) -> FieldMapping:
    return FieldMapping(crm_object=m.crm_object, portal_field=m.portal_field, crm_field=m.crm_field,
                        direction=m.direction, default_value=m.default_value, value_map=dict(m.value_map or {}),
                        position=position)


def rules_of(connection: CrmConnection) -> list[qualification.Rule]:
    return [qualification.Rule(r.trigger, list(r.values or []), r.target_status, r.crm_property, r.active, r.id)
            for r in connection.rules]


def add_rule(connection: CrmConnection, *, trigger: str, values: list[str], target_status: str,
             crm_property: str | None = None) -> QualificationRule:
    """"When the deal stage becomes one of [...]" / "when property P changes to one of [...]" -> status."""
    from portal.services import statuses
    if trigger not in qualification.TRIGGERS:
        raise DomainError("Choose a deal stage or a deal property rule.", field="trigger")
    if trigger == "property" and not (crm_property or "").strip():
        raise DomainError("Name the deal property.", field="crm_property")
    values = [v.strip() for v in values if v and v.strip()]
    if not values:
        raise DomainError("Give at least one value.", field="values")
    statuses.get(target_status)  # raises for an unknown status
    rule = QualificationRule(trigger=trigger, crm_property=(crm_property or "").strip() or None, values=values,
                             target_status=target_status, position=len(connection.rules))
    connection.rules.append(rule)
    db.session.commit()
    return rule


def delete_rule(connection: CrmConnection, rule_id: int) -> None:
    rule = db.session.get(QualificationRule, rule_id)
    if rule is None or rule.connection_id != connection.id:
        raise NotFound()
    db.session.delete(rule)
    db.session.commit()


# ---- marking work -------------------------------------------------------------------------------

def _auto_connection_ids() -> list[int]:
    return list(db.session.scalars(db.select(CrmConnection.id).where(
        CrmConnection.active.is_(True), CrmConnection.sync_trigger == SyncTrigger.AUTO.value)))


def mark_dirty(referral: Referral) -> None:
    """In the caller's transaction: the referral's links to every automatic connection become dirty,
    and one coalesced push per connection is enqueued after the commit. Never commits."""
    ids = _auto_connection_ids()
    if not ids:
        return
    skip = _pulling.get()
    for connection_id in ids:
        if connection_id == skip:
            continue
        _mark(referral, connection_id, force=False)


def _mark(referral: Referral, connection_id: int, *, force: bool) -> CrmLink | None:
    if referral.id is None:
        db.session.flush()
    link = db.session.scalar(db.select(CrmLink).where(
        CrmLink.connection_id == connection_id, CrmLink.entity_type == "referral", CrmLink.entity_id == referral.id))
    if link is None:
        link = CrmLink(connection_id=connection_id, entity_type="referral", entity_id=referral.id,
                       crm_object="deals", dirty=True, version=1, state=LinkState.PENDING.value,
                       pushed_values={}, remote_values={})
        db.session.add(link)
    elif link.state == LinkState.UNLINKED.value and not force:
        return None  # unlinked by a person: only a person re-links it (sync_now)
    else:
        link.dirty = True
        link.version = (link.version or 0) + 1
        if link.state in (LinkState.UNLINKED.value, LinkState.ERROR.value):
            link.state = LinkState.PENDING.value
    schedule_push(connection_id)
    return link


def schedule_push(connection_id: int, *, after_commit: bool = True) -> bool:
    """Enqueue the coalesced push of a connection's dirty records (after the commit by default)."""
    enqueue = queues.enqueue_after_commit if after_commit else queues.enqueue_now
    return enqueue(PUSH_JOB, connection_id, queue="sync", job_id=f"crm-push-{connection_id}",
                   retry=_retry()) is not False


def _retry():
    from rq import Retry
    return Retry(max=5, interval=[10, 30, 60, 120, 300])


def schedule_pull(connection_id: int) -> bool:
    """Enqueue an early pull now (a webhook arrived); coalesced per connection."""
    return queues.enqueue_now(PULL_JOB, connection_id, queue="sync", job_id=f"crm-pull-{connection_id}",
                              retry=_retry())


def start_full_sync(connection: CrmConnection) -> bool:
    """Ask for a full sync of a connection now (the hourly one runs on its own)."""
    return queues.enqueue_now(FULL_SYNC_JOB, connection.id, queue="sync", job_id=f"crm-full-sync-{connection.id}",
                              job_timeout=3600)


def run_full_sync(connection: CrmConnection) -> Progress:
    """A person presses "Run full sync": enqueue it and show it as running from now on, so the progress
    fragment polls until the job finishes. Raises DomainError for an inactive connection."""
    if not connection.active:
        raise DomainError("Turn the connection on before running a full sync.")
    current = progress(connection)
    if current.running:
        return current  # already queued or running: the same job id would be refused anyway
    if not start_full_sync(connection):
        raise DomainError("The full sync could not be queued right now; try again in a minute.")
    # The job sets these again when it starts; until then the page shows it as queued (total 0).
    connection.full_sync_started_at, connection.full_sync_finished_at = utcnow(), None
    connection.full_sync_done = connection.full_sync_total = 0
    db.session.commit()
    return progress(connection)


def sync_now(referral: Referral) -> list[CrmLink]:
    """A person asks: push this referral to every active connection at once (re-links an unlinked one)."""
    connections = list(db.session.scalars(db.select(CrmConnection).where(CrmConnection.active.is_(True))))
    if not connections:
        raise DomainError("No CRM connection is set up.")
    links = [_mark(referral, c.id, force=True) for c in connections]
    db.session.commit()
    return [link for link in links if link is not None]


def unlink(referral: Referral, connection: CrmConnection | None = None) -> None:
    """Forget the referral's CRM record; later syncs leave it alone until a person asks (sync_now)."""
    query = db.select(CrmLink).where(CrmLink.entity_type == "referral", CrmLink.entity_id == referral.id)
    if connection is not None:
        query = query.where(CrmLink.connection_id == connection.id)
    links = list(db.session.scalars(query))
    if not links:
        raise DomainError("This referral is not linked to a CRM record.")
    for link in links:
        db.session.add(SyncLog(connection_id=link.connection_id, entity_type="referral", entity_id=referral.id,
                               direction="push", action="unlink", status="ok",
                               message=f"Unlinked from HubSpot deal {link.crm_id}" if link.crm_id else "Unlinked"))
        link.state = LinkState.UNLINKED.value
        link.dirty = False
        link.crm_id = link.contact_crm_id = link.company_crm_id = link.associated_key = link.url = None
        link.pushed_values, link.remote_values, link.remote_modified_ms = {}, {}, None
        link.last_error = None
    db.session.commit()


@contextlib.contextmanager
def pulling(connection_id: int):
    """Changes made inside come from this connection: do not push them back to it."""
    marker = _pulling.set(connection_id)
    try:
        yield
    finally:
        _pulling.reset(marker)


# ---- webhooks -------------------------------------------------------------------------------

class InvalidSignature(DomainError):
    status_code = 401


def receive_hubspot_webhook(*, method: str, urls: list[str], body: bytes, signature: str | None,
                            timestamp: str | None) -> int:
    """Verify HubSpot's v3 signature against every HubSpot connection's app secret (FACTS §1.11);
    a valid one triggers an early pull of that connection. Raises InvalidSignature (nothing changes)."""
    connections = list(db.session.scalars(db.select(CrmConnection).where(
        CrmConnection.active.is_(True), CrmConnection.provider == Provider.HUBSPOT.value,
        CrmConnection.webhook_secret_encrypted.is_not(None))))
    matched = [c for c in connections
               if any(hubspot.valid_signature_v3(webhook_secret(c) or "", method, url, body, signature, timestamp)
                      for url in dict.fromkeys(urls))]
    if not matched:
        raise InvalidSignature("Invalid or expired HubSpot signature.")
    for connection in matched:
        schedule_pull(connection.id)
    return len(matched)


# ---- the sweep ------------------------------------------------------------------------------

def pending_connection_ids() -> list[int]:
    """Connections with links still to push (dirty, or associations not confirmed)."""
    query = (db.select(CrmLink.connection_id).join(CrmConnection, CrmConnection.id == CrmLink.connection_id)
             .where(CrmConnection.active.is_(True), CrmLink.state != LinkState.UNLINKED.value,
                    db.or_(CrmLink.dirty.is_(True),
                           db.and_(CrmLink.crm_id.is_not(None),
                                   func.coalesce(CrmLink.associated_key, "") !=
                                   func.coalesce(CrmLink.contact_crm_id, "") + ":" +
                                   func.coalesce(CrmLink.company_crm_id, ""))))
             .distinct())
    return list(db.session.scalars(query))


def redrive() -> int:
    """For the sweep: enqueue a push for every connection the database says has pending work.

    A push job whose worker was killed stays in Redis under its id and would block the coalesced
    enqueue; once RQ has given it up (failed, stopped) it is removed so the push can start again.
    """
    count = 0
    for connection_id in pending_connection_ids():
        if not schedule_push(connection_id, after_commit=False):
            queues_job_cleanup(f"crm-push-{connection_id}")
            schedule_push(connection_id, after_commit=False)
        count += 1
    return count


def queues_job_cleanup(job_id: str) -> None:
    from rq.job import Job, JobStatus
    from rq.registry import StartedJobRegistry
    conn = queues.connection()
    try:
        StartedJobRegistry("sync", connection=conn).cleanup()
        job = Job.fetch(job_id, connection=conn)
    except Exception:  # noqa: BLE001 - a missing job or an unreachable Redis: the next sweep tries again
        return
    if job.get_status(refresh=True) in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        job.delete()


# ---- reading: record page, log, progress ------------------------------------------------------

def links_for(referral: Referral) -> list[CrmLink]:
    return list(db.session.scalars(db.select(CrmLink).where(
        CrmLink.entity_type == "referral", CrmLink.entity_id == referral.id).order_by(CrmLink.connection_id)))


@dataclass
class RecordPanel:
    """What the referral page's CRM panel shows: its links, and whether a person can sync it at all."""

    links: list[CrmLink]
    connections: list[CrmConnection]

    @property
    def pending(self) -> bool:
        """A push is still to come: the panel polls itself until it has happened (or failed)."""
        return any(link.state == LinkState.PENDING.value or
                   (link.dirty and link.state not in (LinkState.ERROR.value, LinkState.UNLINKED.value))
                   for link in self.links)

    @property
    def linked(self) -> bool:
        return any(link.state != LinkState.UNLINKED.value for link in self.links)


def record_panel(referral: Referral) -> RecordPanel:
    """The referral's CRM links and the active connections, for the record page's CRM panel."""
    connections = list(db.session.scalars(db.select(CrmConnection).where(CrmConnection.active.is_(True))
                                          .order_by(CrmConnection.id)))
    return RecordPanel(links_for(referral), connections)


@dataclass
class LogFilters:
    connection_id: int | None = None
    entity_id: int | None = None
    direction: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    record: str | None = None  # a referral number ("R-00012") or id, as a person types it


def log_entries(filters: LogFilters, *, limit: int = 100, offset: int = 0) -> list[SyncLog]:
    """The integration log, newest first, filtered by connection, record, direction, status, dates."""
    return list(db.session.scalars(_log_query(filters).limit(limit).offset(offset)))


def log_page(filters: LogFilters, *, page: int = 1, per_page: int = 50):
    """One page of the integration log (a Flask-SQLAlchemy Pagination), newest first."""
    return db.paginate(_log_query(filters), page=max(page, 1), per_page=per_page, error_out=False, count=True)


def referral_numbers(ids) -> dict[int, str]:
    """Referral id -> number, for the log rows of one page."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(db.select(Referral.id, Referral.number).where(Referral.id.in_(ids))).all())


def _record_id(record: str) -> int | None:
    record = record.strip()
    found = db.session.scalar(db.select(Referral.id).where(func.upper(Referral.number) == record.upper()))
    if found is None and record.isdigit():
        found = db.session.scalar(db.select(Referral.id).where(Referral.id == int(record)))
    return found


def _log_query(filters: LogFilters):
    query = db.select(SyncLog)
    if filters.connection_id:
        query = query.where(SyncLog.connection_id == filters.connection_id)
    entity_id = filters.entity_id
    if not entity_id and (filters.record or "").strip():
        entity_id = _record_id(filters.record) or -1  # an unknown record matches nothing
    if entity_id:
        query = query.where(SyncLog.entity_type == "referral", SyncLog.entity_id == entity_id)
    if filters.direction:
        query = query.where(SyncLog.direction == filters.direction)
    if filters.status:
        query = query.where(SyncLog.status == filters.status)
    if filters.since:
        query = query.where(SyncLog.at >= filters.since)
    if filters.until:
        query = query.where(SyncLog.at < filters.until + timedelta(days=1))
    return query.order_by(SyncLog.at.desc(), SyncLog.id.desc())


@dataclass
class Progress:
    running: bool
    done: int
    total: int
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None = None  # why the latest full sync stopped, if it failed

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.done / self.total))


def progress(connection: CrmConnection) -> Progress:
    db.session.refresh(connection)
    running = connection.full_sync_started_at is not None and connection.full_sync_finished_at is None
    return Progress(running, connection.full_sync_done or 0, connection.full_sync_total or 0,
                    connection.full_sync_started_at, connection.full_sync_finished_at,
                    (connection.settings or {}).get("full_sync_error"))
