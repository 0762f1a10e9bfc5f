"""The connector protocol and the registry of connectors by provider name (STYLE.md §11).

The engine, the services and the pages ask `for_connection(connection)`; only a connector's own
package names its provider. A connector turns records (their portal values, through the
connection's mappings) into its CRM's requests and the CRM's records back into changes; its quirks
stay inside its package. A third CRM is one new package under `sync/connectors/` that registers
itself here, and nothing else.

What the engine guarantees a connector: `push`, `plan` and `changes_since` run with no database
transaction open (fetch, then call, then write); `prepare` runs before, inside one, and may read
the connector's own tables; rows it puts in `Batch.rows` are written with the batch's results.
`plan` (the dry run) gets the same batch and must only read: the links it sees are never written
back, nor are its `Batch.rows`; it decides with the very code `push` decides with.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterator, Protocol

from portal.sync import budget, credentials, mapping
from portal.sync.http import CallEvent
from portal.sync.mapping import Mapping


@dataclass
class Outgoing:
    """One record to push: its link (detached; the connector may set the link's CRM ids, `url` and
    `pushed_values`), its portal values, and the portal's id for it (what CRM upserts key on)."""

    link: Any
    values: dict
    portal_id: str
    contact_email: str | None = None
    company_domain: str | None = None


@dataclass
class PushResult:
    """What became of one record: ok (created or updated), skipped (nothing changed) or error."""

    link_id: int
    status: str                 # ok | skipped | error
    action: str = "push"        # for the integration log: "create deal", "update deal"...
    created: bool = False
    message: str = ""
    request_summary: str | None = None


@dataclass
class Batch:
    """The records of one entity type pushed together, and what the connector keeps for the batch."""

    entity: str
    crm_object: str
    items: list[Outgoing]
    context: dict = field(default_factory=dict)   # what `prepare` read, for `push`
    rows: list = field(default_factory=list)      # the connector's own rows to write with the results


@dataclass
class FieldChange:
    """One CRM property a write would change: the CRM's value before (None: empty or unknown) and the new one."""

    name: str
    old: Any
    new: Any


@dataclass
class Planned:
    """What a push does to one record, decided before any write: `plan` (the dry run) returns it
    without writing, and the push carries out the same decision.
    `action`: create | update | link (an existing CRM record becomes the record's, unchanged) | skip
    (nothing changed) | error; `crm_object` is the CRM's name for the record written or linked
    ("Deal", "Lead", "Opportunity"); `related` are the records it brings along (HubSpot's contact
    and company), each a Planned of its own."""

    portal_id: str
    action: str
    crm_object: str
    crm_id: str | None = None
    changes: list[FieldChange] = field(default_factory=list)
    related: list["Planned"] = field(default_factory=list)
    message: str = ""

    @property
    def log_action(self) -> str:
        """The integration log's action for it ("create deal"), as the push writes it."""
        return f"{self.action} {self.crm_object.lower()}"


@dataclass
class Related:
    """A pushed record's related CRM records (its contact, its company) still to associate."""

    link_id: int
    crm_id: str
    contact_crm_id: str | None
    company_crm_id: str | None


@dataclass
class Change:
    """One record the CRM changed: its CRM id, the portal id it carries (if any), when it changed
    (ms since epoch, the CRM's clock) and its properties (CRM property name -> string).
    `replaces`: the CRM record this one took over from (a converted lead's opportunity), so the
    link moves to it; `contact_crm_id` / `company_crm_id`: the person and company records the CRM
    names for it (a converted lead's contact and account), kept on the link.
    `deleted`: the CRM deleted the record (`modified_ms` is when): the link is unlinked.
    `related`: "contact" when the change is of the record's contact (the link's `contact_crm_id`),
    not of the record itself: its properties are named "contact.<property>", the link stays where
    it is, and the first value seen of a property is its initial value (a rule fires on a change).
    For an entity the connector translates itself (`Entity.mapped` false): `fields` (portal field ->
    value) and `status` (a portal status, with its `reason`).
    `parent_id`: the CRM record it belongs to (a contact's account), if any."""

    crm_id: str
    portal_id: str | None
    modified_ms: int
    properties: dict
    replaces: str | None = None
    contact_crm_id: str | None = None
    company_crm_id: str | None = None
    deleted: bool = False
    related: str | None = None
    fields: dict = field(default_factory=dict)
    status: str | None = None
    reason: str | None = None
    parent_id: str | None = None


@dataclass
class Found:
    """A CRM record offered for import (a Salesforce Opportunity as a deal registration): what the
    import page lists, and the portal field values a record is made of."""

    crm_id: str
    name: str
    stage: str | None
    owner: str | None
    close_date: str | None
    amount: Decimal | None
    account: str | None
    portal_id: str | None               # the registration it is linked to already, if any
    values: dict = field(default_factory=dict)   # registration fields (customer, contact, amount, close)
    url: str | None = None
    linked: str | None = None           # set by the import: the portal record it is linked to, by name


@dataclass
class ConnectionReport:
    ok: bool
    message: str
    account: dict = field(default_factory=dict)   # what the test learned (pipelines...), kept on the connection


class Connector(Protocol):
    provider: str
    label: str                          # "HubSpot": the actor of the changes it brings
    entities: tuple[str, ...]           # the entity types it syncs ("referral", ...)
    planned_entities: tuple[str, ...]   # those its `plan` covers (the dry run leaves the others out, and says so)
    batch_size: int                     # records per push batch
    stage_property: str                 # the CRM property that carries a deal's stage
    amount_property: str                # ... and its amount
    required_fields: dict[str, tuple[str, ...]]   # portal object -> CRM properties a mapping must fill
    object_labels: dict[str, str]       # portal object -> the CRM's name for it ("deal" -> "Deal")

    @staticmethod
    def default_mappings() -> list[Mapping]: ...
    def test(self) -> ConnectionReport: ...
    # Optional: does this connection sync `entity` under its options? (Absent: every one of `entities`.)
    # Organization sync, for example, waits until the matching wizard turns it on.
    def syncs(self, entity: str, options: dict) -> bool: ...
    def properties(self, crm_object: str) -> list[dict]: ...
    def ensure_fields(self) -> None: ...
    def prepare(self, batch: Batch) -> None: ...
    def push(self, batch: Batch) -> list[PushResult]: ...
    def plan(self, batch: Batch) -> list[Planned]: ...  # what push would do, with read calls only
    def associate(self, related: list[Related]) -> None: ...
    # `properties`: the CRM properties to read; "contact.<name>" ones are of the record's contact
    # (a connector that cannot read contacts leaves them out).
    def changes_since(self, entity: str, watermark_ms: int, properties: list[str]) -> Iterator[Change]: ...
    def record_url(self, crm_object: str, crm_id: str) -> str | None: ...
    @property
    def calls(self) -> int: ...


class Importer(Protocol):
    """Optional beside `Connector`: a connector that imports CRM records as portal records names the
    entities in `importable` (entity -> the CRM's word for what is imported: "Opportunity")."""

    importable: dict[str, str]

    def search_options(self, entity: str) -> dict[str, list[tuple[str, str]]]: ...
    def search(self, entity: str, filters: dict, options: dict | None = None) -> list[Found]: ...
    def read(self, entity: str, crm_ids: list[str]) -> list[Found]: ...


@dataclass
class ConnectorContext:
    """What a connector is built from: the connection's plain settings, never the ORM row itself
    (the engine calls the CRM with no transaction open)."""

    connection_id: int
    base_url: str
    token: str
    options: dict
    existing_policy: str
    mappings: list[Mapping]
    budget_storage: Any = None
    on_event: Callable[[CallEvent], None] | None = None
    client_options: dict = field(default_factory=dict)


# The connection option that says what a referral becomes, where a connector offers a choice
# (`record_choices`: (value, label) pairs, the values the CRM's own nouns, e.g. Lead or Contact).
RECORD_OPTION = "referral_record"
# A connection option: the entity types whose initial sync was started and has not finished; the
# engine's pushes leave them alone meanwhile, and the sweep runs the initial sync again (sync/initial.py).
INITIAL_SYNC_PENDING = "initial_sync_pending"

CONNECTORS: dict[str, type] = {}


def register(provider: str):
    def add(cls):
        cls.provider = provider
        CONNECTORS[provider] = cls
        return cls
    return add


def get(provider: str):
    """The connector class registered under `provider` (its labels, default mappings, required fields)."""
    return CONNECTORS[provider]


def syncs(connector, entity: str, options: dict) -> bool:
    """Whether a connector (its class or an instance) syncs `entity` for a connection with these options."""
    if entity not in connector.entities:
        return False
    decide = getattr(connector, "syncs", None)
    return True if decide is None else bool(decide(entity, options or {}))


def providers() -> list[tuple[str, str]]:
    """(provider, label) of every registered connector."""
    return [(name, cls.label) for name, cls in CONNECTORS.items()]


def for_connection(connection, *, on_event: Callable[[CallEvent], None] | None = None,
                   **client_options) -> Connector:
    """The connector of a connection, built from its plain settings (a fresh HTTP session; the
    request budget is shared). Raises DomainError when its token cannot be read."""
    options = dict(connection.options or {})
    # A connection may tune how long one call keeps retrying (a job is retried by RQ and the sweep anyway).
    tuning = {k: options[k] for k in ("max_retries", "max_wait_seconds") if k in options}
    context = ConnectorContext(
        connection_id=connection.id, base_url=connection.base_url, token=credentials.token(connection),
        options=options, existing_policy=connection.existing_policy,
        mappings=mapping.of(connection), budget_storage=budget.shared_storage(), on_event=on_event,
        client_options={**tuning, **client_options})
    return CONNECTORS[connection.provider](context)


@dataclass
class AccountCandidate:
    """A CRM company record (a Salesforce Account) flagged for the organization sync, as the matching
    wizard shows it: its id, name, website, partner status and the company domains it is known by
    (its website's and its contacts' email domains)."""

    crm_id: str
    name: str
    website: str | None = None
    status: str | None = None
    domains: tuple[str, ...] = ()
