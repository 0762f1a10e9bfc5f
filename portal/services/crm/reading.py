"""What pages read: the referral page's CRM panel, the integration log, full-sync progress."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func

from portal.extensions import db
from portal.models import CrmConnection, CrmLink, DealRegistration, Referral, SyncLog
from portal.models.crm import LinkState
from portal.sync import connectors


_NUMBERED = {"referral": Referral, "deal_registration": DealRegistration}  # what the log's record filter finds


def links_for(referral: Referral, *, entity_type: str = "referral") -> list[CrmLink]:
    """A record's CRM links (a referral's, or another entity type's), one per connection."""
    return list(db.session.scalars(db.select(CrmLink).where(
        CrmLink.entity_type == entity_type, CrmLink.entity_id == referral.id).order_by(CrmLink.connection_id)))


@dataclass
class RecordPanel:
    """What the referral page's CRM panel shows: its links, and whether a person can sync it at all.

    It tells the truth about a change not sent yet: "waiting" only while a push is really to come;
    once the connection's last attempt failed after the change, the failure, its time and the next try.
    """

    links: list[CrmLink]
    connections: list[CrmConnection]
    # Which record the panel belongs to, for its buttons: the page kind ("referral", "deal") names
    # the integrations endpoints (`<kind>_panel`, `<kind>_sync`, `<kind>_unlink`).
    kind: str = "referral"
    record_id: int = 0
    record_label: str = ""
    noun: str = "referral"

    @property
    def ids(self) -> dict:
        """The endpoints' arguments: {"referral_id": 12}."""
        return {f"{self.kind}_id": self.record_id}

    @staticmethod
    def _unsent(link: CrmLink) -> bool:
        return link.state == LinkState.PENDING.value or (
            link.dirty and link.state not in (LinkState.ERROR.value, LinkState.UNLINKED.value))

    def failure(self, link: CrmLink) -> CrmConnection | None:
        """The link's connection, when its change is not sent because the last push attempt failed."""
        connection = link.connection
        if not self._unsent(link) or connection.failing_since is None or connection.last_error_at is None:
            return None
        changed = link.updated_at or link.created_at
        return connection if changed is None or connection.last_error_at >= changed else None

    @property
    def pending(self) -> bool:
        """A push is still to come: the panel polls itself until it has happened (or failed)."""
        return any(self._unsent(link) and self.failure(link) is None for link in self.links)

    @property
    def retrying(self) -> bool:
        """A change waits for a CRM that does not answer: the panel checks back now and then."""
        return any(self.failure(link) is not None for link in self.links)

    @property
    def linked(self) -> bool:
        return any(link.state != LinkState.UNLINKED.value for link in self.links)

    @property
    def label(self) -> str:
        """The CRM the panel speaks of ("HubSpot"), or "CRM" when the connections are of several."""
        providers = {c.provider for c in self.connections} | {link.connection.provider for link in self.links}
        return _provider_label(providers.pop()) if len(providers) == 1 else "CRM"

    def label_of(self, link: CrmLink) -> str:
        return _provider_label(link.connection.provider)

    def noun_of(self, link: CrmLink) -> str:
        """What the link's CRM record is called there: "Deal" (HubSpot), "Lead" or "Opportunity" (Salesforce)."""
        connector = connectors.CONNECTORS.get(link.connection.provider)
        if connector is None:
            return "record"
        noun = getattr(connector, "record_noun", None)
        return noun(link.crm_id) if noun else connector.object_labels.get("deal", "record")


    def url_of(self, link: CrmLink) -> str | None:
        """"View in ...": the link's record page (where the connector knows better than the stored URL)."""
        connector = connectors.CONNECTORS.get(link.connection.provider)
        follow = getattr(connector, "link_url", None)
        return follow(link.url, link.crm_id) if follow else link.url


def _provider_label(provider: str) -> str:
    connector = connectors.CONNECTORS.get(provider)
    return connector.label if connector is not None else provider.capitalize()


def record_panel(referral: Referral) -> RecordPanel:
    """The referral's CRM links and the active connections, for the record page's CRM panel."""
    connections = list(db.session.scalars(db.select(CrmConnection).where(CrmConnection.active.is_(True))
                                          .order_by(CrmConnection.id)))
    return RecordPanel(links_for(referral), connections, "referral", referral.id, referral.number or str(referral.id))


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


def record_numbers(rows) -> dict[tuple[str, int], str]:
    """(entity type, id) -> number of the referrals and deal registrations the log rows name."""
    wanted: dict[str, set[int]] = {}
    for row in rows:
        if row.entity_id:
            wanted.setdefault(row.entity_type or "referral", set()).add(row.entity_id)
    found = {}
    for kind, model in _NUMBERED.items():
        if wanted.get(kind):
            found.update({(kind, i): n for i, n in db.session.execute(
                db.select(model.id, model.number).where(model.id.in_(wanted[kind]))).all()})
    return found


def _record_id(record: str) -> tuple[str, int] | None:
    """(entity type, id) of a referral or deal registration number ("R-000012", "D-000004"), or a referral id."""
    record = record.strip()
    for kind, model in _NUMBERED.items():
        found = db.session.scalar(db.select(model.id).where(func.upper(model.number) == record.upper()))
        if found is not None:
            return kind, found
    if record.isdigit():
        found = db.session.scalar(db.select(Referral.id).where(Referral.id == int(record)))
        return ("referral", found) if found is not None else None
    return None


def _log_query(filters: LogFilters):
    query = db.select(SyncLog)
    if filters.connection_id:
        query = query.where(SyncLog.connection_id == filters.connection_id)
    kind, entity_id = "referral", filters.entity_id
    if not entity_id and (filters.record or "").strip():
        kind, entity_id = _record_id(filters.record) or ("referral", -1)  # an unknown record matches nothing
    if entity_id:
        query = query.where(SyncLog.entity_type == kind, SyncLog.entity_id == entity_id)
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
                    (connection.options or {}).get("full_sync_error"))
