"""CRM integration: connections, field mappings, links to CRM records, the sync log, qualification rules.

The database is the record of pending CRM work (DESIGN.md §2, §7): a `CrmLink` that is `dirty` (or
whose associations are not confirmed) still has to be pushed, whatever Redis remembers.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.types import UTCDateTime, utcnow


class Provider(str, enum.Enum):
    HUBSPOT = "hubspot"
    SALESFORCE = "salesforce"


class SyncTrigger(str, enum.Enum):
    AUTO = "auto"        # push on creation and on every change
    MANUAL = "manual"    # push only when a person asks (Sync now) or on the full sync


class ExistingPolicy(str, enum.Enum):
    """What to do with an end customer (contact, company) that already exists in the CRM."""

    UPDATE = "update"          # overwrite the mapped fields
    FILL_EMPTY = "fill_empty"  # write only the fields that are empty in the CRM
    LEAVE = "leave"            # leave it untouched


class Direction(str, enum.Enum):
    PUSH = "push"
    PULL = "pull"
    BOTH = "both"


class LinkState(str, enum.Enum):
    PENDING = "pending"
    SYNCED = "synced"
    ERROR = "error"
    UNLINKED = "unlinked"


class CrmConnection(db.Model):
    __tablename__ = "crm_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    provider: Mapped[str] = mapped_column(String(20), default=Provider.HUBSPOT.value)
    base_url: Mapped[str] = mapped_column(String(500))
    # Fernet tokens (portal.services.crm encrypts them); the plain token is never shown again.
    token_encrypted: Mapped[str | None] = mapped_column(Text)
    webhook_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sync_trigger: Mapped[str] = mapped_column(String(10), default=SyncTrigger.AUTO.value)
    existing_policy: Mapped[str] = mapped_column(String(12), default=ExistingPolicy.FILL_EMPTY.value)
    # Connector options (not the portal's Settings): api version, rate limits, fields ensured, the
    # latest full sync's error...
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    account: Mapped[dict] = mapped_column(JSON, default=dict)  # what "Test connection" learned
    # The CRM's property lists per object ({"deal": [{name, label, type, options}], ...}), fetched on
    # demand ("Refresh", saving the connection) so the mappings page never calls the CRM to render.
    crm_properties: Mapped[dict] = mapped_column(JSON, default=dict)
    crm_properties_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Pull watermark: the CRM's last-modified stamp (ms since epoch) of the newest change applied.
    pull_watermark_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_pull_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_push_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Health of the pushes: since when they keep failing, the last error in plain words and when
    # the next attempt comes; the admins were told once it kept failing (and are told once it recovers).
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failure_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Progress of the latest full sync (polled by the settings page).
    full_sync_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    full_sync_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    full_sync_total: Mapped[int] = mapped_column(default=0)
    full_sync_done: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    mappings: Mapped[list[FieldMapping]] = relationship(back_populates="connection", cascade="all, delete-orphan",
                                                        order_by="FieldMapping.position")
    rules: Mapped[list[QualificationRule]] = relationship(back_populates="connection", cascade="all, delete-orphan",
                                                          order_by="QualificationRule.position")

    @property
    def is_auto(self) -> bool:
        return self.active and self.sync_trigger == SyncTrigger.AUTO.value

    @property
    def has_token(self) -> bool:
        return bool(self.token_encrypted)

    def __repr__(self) -> str:
        return f"<CrmConnection {self.id} {self.provider} {self.base_url}>"


class FieldMapping(db.Model):
    """Portal field <-> CRM property for one CRM object (deal, contact, company)."""

    __tablename__ = "crm_field_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("crm_connections.id", ondelete="CASCADE"))
    crm_object: Mapped[str] = mapped_column(String(20))       # deal | contact | company
    portal_field: Mapped[str | None] = mapped_column(String(60))  # None: a constant (default_value)
    crm_field: Mapped[str] = mapped_column(String(100))
    direction: Mapped[str] = mapped_column(String(5), default=Direction.PUSH.value)
    default_value: Mapped[str | None] = mapped_column(String(255))
    # Picklist map: portal value -> CRM value (e.g. status key -> deal stage id).
    value_map: Mapped[dict] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(default=0)

    connection: Mapped[CrmConnection] = relationship(back_populates="mappings")


class CrmLink(db.Model):
    """One portal record's counterpart in one CRM, and the work still to do for it."""

    __tablename__ = "crm_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("crm_connections.id", ondelete="CASCADE"))
    entity_type: Mapped[str] = mapped_column(String(20), default="referral")
    entity_id: Mapped[int] = mapped_column()
    crm_object: Mapped[str] = mapped_column(String(20), default="deals")
    crm_id: Mapped[str | None] = mapped_column(String(40))
    contact_crm_id: Mapped[str | None] = mapped_column(String(40))
    company_crm_id: Mapped[str | None] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(10), default=LinkState.PENDING.value)
    dirty: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped by every mark_dirty: a push clears `dirty` only if no change came in while it ran.
    version: Mapped[int] = mapped_column(default=1)
    # The associations (deal-contact, deal-company, contact-company) the CRM confirmed, as
    # "contact_id:company_id"; differs from the current ids while associations are still to do.
    associated_key: Mapped[str | None] = mapped_column(String(90))
    # Property values last written to (or read from) the CRM: a push sends only what changed, so
    # a value that came from a pull is never pushed back and CRM-side edits are not overwritten.
    pushed_values: Mapped[dict] = mapped_column(JSON, default=dict)
    remote_values: Mapped[dict] = mapped_column(JSON, default=dict)
    remote_modified_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_pulled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    connection: Mapped[CrmConnection] = relationship()

    __table_args__ = (
        UniqueConstraint("connection_id", "entity_type", "entity_id", name="uq_crm_links_entity"),
        Index("ix_crm_links_dirty", "connection_id", "dirty"),
        Index("ix_crm_links_crm_id", "connection_id", "crm_id"),
    )

    @property
    def needs_push(self) -> bool:
        return self.state != LinkState.UNLINKED.value and (
            self.dirty or (self.crm_id is not None and self.associated_key != self.wanted_associations))

    @property
    def wanted_associations(self) -> str:
        return f"{self.contact_crm_id or ''}:{self.company_crm_id or ''}"


class CrmCompany(db.Model):
    """The CRM company id of an email domain: found by search or created once, then reused.

    HubSpot does not deduplicate companies by domain (FACTS §1.2), so the portal remembers which
    company it chose for a domain instead of searching again on every push.
    """

    __tablename__ = "crm_companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("crm_connections.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(255))
    crm_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("connection_id", "domain", name="uq_crm_companies_domain"),)


class SyncLog(db.Model):
    """The integration log: one row per record and direction of a sync, or per failed call."""

    __tablename__ = "crm_sync_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("crm_connections.id", ondelete="CASCADE"))
    entity_type: Mapped[str | None] = mapped_column(String(20))
    entity_id: Mapped[int | None] = mapped_column()
    direction: Mapped[str] = mapped_column(String(5))        # push | pull
    action: Mapped[str] = mapped_column(String(40))          # create | update | associate | search | ...
    status: Mapped[str] = mapped_column(String(10))          # ok | error | retry | skipped
    message: Mapped[str | None] = mapped_column(Text)
    request_summary: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_crm_sync_log_connection_at", "connection_id", "at"),
        Index("ix_crm_sync_log_entity", "entity_type", "entity_id", "at"),
    )


class QualificationRule(db.Model):
    """"When the deal stage becomes one of [...]" or "when property P changes to one of [...]" -> status."""

    __tablename__ = "crm_qualification_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("crm_connections.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(10))             # stage | property
    crm_property: Mapped[str | None] = mapped_column(String(100))  # for trigger "property"
    values: Mapped[list] = mapped_column(JSON, default=list)
    target_status: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(default=0)

    connection: Mapped[CrmConnection] = relationship(back_populates="rules")
