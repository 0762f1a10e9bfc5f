"""Organization sync (issue #14): which connections sync organizations and their users, marking
them dirty when they change, the settings, and the initial sync the matching wizard starts.

The contract with the matching wizard: its decisions are `CrmLink` rows of entity type
"organization" — Link: `crm_id` = the Account's id; Create new: `crm_id` None (the push creates the
Account); Do not sync: state `unlinked` (the engine skips it and never links it again; give it the
suggested Account's `crm_id` too and that Account is left alone by the pull). Nothing syncs for a
connection until `options["org_sync"]["enabled"]` is true. Then `start_initial_sync(connection_id,
master)` runs the first sync in the background (the `initial_sync` job), its progress in the
connection's full-sync fields, its errors in the integration log.
"""
from __future__ import annotations

from dataclasses import dataclass

from portal.errors import DomainError
from portal.extensions import db
from portal.jobs import queues
from portal.models import CrmConnection, CrmLink, Organization, User
from portal.models.crm import LinkState
from portal.models.types import utcnow
from portal.services import read_cache
from portal.services.crm import scheduling
from portal.sync import connectors, entity_organizations as orgs

MASTERS = ("portal", "salesforce")
KIND_LABELS = {"active_partner": "Active partners", "inactive_partner": "Inactive partners",
               "active_distributor": "Active distributors", "inactive_distributor": "Inactive distributors"}


@dataclass(frozen=True)
class Syncing:
    """What marking a record dirty needs of a connection (plain values: kept in the read cache)."""
    id: int
    options: dict
    is_auto: bool


def syncing_connections(entity: str = "organization") -> list[Syncing]:
    """Active connections that sync `entity` under their options (organization sync turned on);
    read once per change of the connections, not on every record a pull applies."""
    def load() -> list[Syncing]:
        found = db.session.scalars(db.select(CrmConnection).where(CrmConnection.active.is_(True)))
        return [Syncing(c.id, dict(c.options or {}), c.is_auto) for c in found if c.provider in connectors.CONNECTORS
                and connectors.syncs(connectors.get(c.provider), entity, c.options or {})]
    return read_cache.cached(read_cache.CRM_CONNECTIONS, f"org_sync:{entity}", load)


def mark_organization_dirty(org: Organization, *, with_users: bool = False) -> None:
    """In the caller's transaction: the organization's links become dirty (created when its kind
    syncs), a push is enqueued after the commit. Never commits."""
    if org.kind not in orgs.MANAGED_KINDS:
        return
    for connection in syncing_connections():
        _mark(connection, orgs.ORGANIZATION, org, orgs.partner_status(org.kind, org.status))
        if with_users:
            for user in org.users:
                _mark(connection, orgs.USER, user, orgs.partner_status(org.kind, org.status))


def mark_user_dirty(user: User) -> None:
    """In the caller's transaction: a partner user's links become dirty, if their organization syncs."""
    org = user.organization
    if org is None or org.kind not in orgs.MANAGED_KINDS:
        return
    for connection in syncing_connections("user"):
        _mark(connection, orgs.USER, user, orgs.partner_status(org.kind, org.status))


def _mark(connection: Syncing, entity, record, kind: str | None) -> None:
    if record.id is None:
        db.session.flush()
    if connection.id == scheduling.current_pull():
        return  # the change comes from this connection: nothing goes back to it
    link = db.session.scalar(db.select(CrmLink).where(CrmLink.connection_id == connection.id,
                                                      CrmLink.entity_type == entity.name,
                                                      CrmLink.entity_id == record.id))
    if link is None:
        if kind not in orgs.selected_kinds(connection.options or {}):
            return  # a kind this connection does not sync: no record is made for it
        db.session.add(CrmLink(connection_id=connection.id, entity_type=entity.name, entity_id=record.id,
                               crm_object=entity.crm_object, dirty=True, version=1, state=LinkState.PENDING.value,
                               pushed_values={}, remote_values={}))
    elif link.state == LinkState.UNLINKED.value:
        return  # "Do not sync" (or unlinked by a person)
    else:
        link.dirty = True
        link.version = (link.version or 0) + 1
        if link.state == LinkState.ERROR.value:
            link.state = LinkState.PENDING.value
    if connection.is_auto:
        scheduling.schedule_push(connection.id)


# ---- settings -----------------------------------------------------------------------------------

def available(connection: CrmConnection) -> bool:
    """Does the connection's CRM have organization sync (its connector knows the organization entity)?"""
    return connection.provider in connectors.CONNECTORS and \
        orgs.ORGANIZATION.name in connectors.get(connection.provider).entities


def settings_of(connection: CrmConnection) -> dict:
    """The organization sync settings of a connection, with their defaults."""
    found = orgs.settings(connection.options or {})
    return {"enabled": bool(found.get("enabled")), "kinds": list(orgs.selected_kinds(connection.options or {})),
            "record_types": bool(found.get("record_types")),
            "record_type_ids": dict(found.get("record_type_ids") or {}),
            "master": (connection.options or {}).get(orgs.MASTER_OPTION) or "salesforce"}


def save_settings(connection: CrmConnection, *, kinds: list[str], master: str, record_types: bool = False,
                  record_type_ids: dict | None = None) -> dict:
    """Choose which kinds sync, who wins a conflict and the record types of created records.
    Raises DomainError (nothing saved) for an unknown kind, master or record type."""
    unknown = [k for k in kinds if k not in orgs.PARTNER_STATUSES]
    if unknown:
        raise DomainError(f"Unknown kind {unknown[0]!r}.", field="kinds")
    if master not in MASTERS:
        raise DomainError("Choose the portal or Salesforce as the master.", field="master")
    chosen = {k: v for k, v in (record_type_ids or {}).items() if v}
    if record_types:
        _check_record_types(connection, chosen)
    options = dict(connection.options or {})
    current = dict(orgs.settings(options))
    current.update({"kinds": [k for k in orgs.PARTNER_STATUSES if k in kinds], "record_types": bool(record_types),
                    "record_type_ids": chosen if record_types else {}})
    options["org_sync"] = current
    options[orgs.MASTER_OPTION] = master
    connection.options = options
    db.session.commit()
    return settings_of(connection)


RECORD_TYPE_SLOTS = {"account_partner": ("Account", "Accounts created for partners"),
                     "account_distributor": ("Account", "Accounts created for distributors"),
                     "contact_partner": ("Contact", "Contacts created for partners' users"),
                     "contact_distributor": ("Contact", "Contacts created for distributors' users")}


def record_type_choices(connection: CrmConnection) -> dict[str, list[tuple[str, str]]]:
    """Object -> (record type id, name) from the live describe, as the last "Refresh" loaded it."""
    known = (connection.crm_properties or {}).get("_record_types") or {}
    return {sobject: [(t["id"], t["name"]) for t in types] for sobject, types in known.items()}


def _check_record_types(connection: CrmConnection, chosen: dict) -> None:
    choices = record_type_choices(connection)
    for slot, record_type in chosen.items():
        if slot not in RECORD_TYPE_SLOTS:
            raise DomainError(f"Unknown record type slot {slot!r}.", field="record_types")
        sobject, label = RECORD_TYPE_SLOTS[slot]
        if record_type not in {i for i, _ in choices.get(sobject, [])}:
            raise DomainError(f"{label}: that record type is not one of the org's {sobject} record types "
                              "(refresh the property lists).", field=slot)


# ---- the initial sync ---------------------------------------------------------------------------

def start_initial_sync(connection_id: int, master: str) -> None:
    """The matching wizard's last step: remember the master, show the sync as queued and run the
    `initial_sync` job after the commit. Raises DomainError for an unknown master or a connection
    that does not sync organizations."""
    if master not in MASTERS:
        raise DomainError("Choose the portal or Salesforce as the master.", field="master")
    connection = db.session.get(CrmConnection, connection_id)
    if connection is None:
        raise DomainError("There is no such connection.")
    if not connection.active or not orgs.enabled(connection.options or {}):
        raise DomainError("Turn organization sync on for this connection first (the matching wizard does).")
    # Until the job has finished, other pushes leave organizations alone (the initial sync reads
    # Salesforce first), and the sweep and the hourly sync run it again rather than a full sync.
    connection.options = {**(connection.options or {}), orgs.MASTER_OPTION: master,
                          scheduling.INITIAL_SYNC_PENDING: list(orgs.NAMES)}
    connection.full_sync_started_at, connection.full_sync_finished_at = utcnow(), None
    connection.full_sync_done = connection.full_sync_total = 0
    queues.enqueue_after_commit(scheduling.INITIAL_SYNC_JOB, connection_id, queue="sync",
                                job_id=f"crm-initial-sync-{connection_id}", job_timeout=3600)
    db.session.commit()
