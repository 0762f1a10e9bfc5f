"""Deal registrations and the CRMs: which events send one (the connection's choice among created,
pre-approved and approved), "Sync now", "Unlink", and the connection's deal options.

Like referrals, a registration's link is marked dirty inside the caller's transaction and the push
is enqueued after its commit; unlike them, only the events an admin picked send it by themselves
(no event picked: it goes when a person presses Sync now).
"""
from __future__ import annotations

from portal.errors import DomainError
from portal.extensions import db
from portal.models import CrmConnection, CrmLink, DealRegistration
from portal.services.crm import reading, scheduling
from portal.sync import connectors

ENTITY = "deal_registration"   # sync/entity_deals.py
CRM_OBJECT = "registration"
EVENTS = (("created", "Created"), ("pre_approved", "Pre-approved"), ("approved", "Approved"))
EVENTS_OPTION = "deal_events"
CONTACT_MATCH_OPTION = "opportunity_on_contact_match"


def deal_connections() -> list[CrmConnection]:
    """Active connections whose connector syncs deal registrations."""
    found = db.session.scalars(db.select(CrmConnection).where(CrmConnection.active.is_(True)).order_by(CrmConnection.id))
    return [c for c in found if ENTITY in getattr(connectors.CONNECTORS.get(c.provider), "entities", ())]


def import_connections() -> list[CrmConnection]:
    """Active connections whose CRM records can be imported as deal registrations (Salesforce's Opportunities)."""
    return [c for c in deal_connections()
            if ENTITY in (getattr(connectors.CONNECTORS.get(c.provider), "importable", None) or {})]


def syncs_deals(connection: CrmConnection) -> bool:
    return ENTITY in getattr(connectors.CONNECTORS.get(connection.provider), "entities", ())


def deal_options(connection: CrmConnection) -> dict:
    """The connection's deal registration options: the events that send one, "Opportunity on contact match"."""
    options = connection.options or {}
    return {"events": [e for e, _ in EVENTS if e in (options.get(EVENTS_OPTION) or [])],
            "contact_match": bool(options.get(CONTACT_MATCH_OPTION))}


def save_deal_options(connection: CrmConnection, *, events: list[str], contact_match: bool) -> CrmConnection:
    """Set which events send a registration and whether a known Contact gets an Opportunity.
    Raises DomainError for an unknown event or a CRM that does not sync registrations."""
    if not syncs_deals(connection):
        raise DomainError("This CRM connection does not sync deal registrations.")
    unknown = set(events) - {e for e, _ in EVENTS}
    if unknown:
        raise DomainError("Choose events from the list.", field="deal_events")
    connection.options = {**(connection.options or {}), EVENTS_OPTION: [e for e, _ in EVENTS if e in events],
                          CONTACT_MATCH_OPTION: bool(contact_match)}
    db.session.commit()
    return connection


def deal_event(deal: DealRegistration, event: str) -> None:
    """In the caller's transaction: `event` happened to the registration ("created", "pre_approved",
    "approved"); the connections that picked it get the registration's link marked dirty and one
    coalesced push after the commit. Never commits."""
    skip = scheduling.pulling_connection()
    for connection in deal_connections():
        if connection.id != skip and event in deal_options(connection)["events"]:
            scheduling.mark(deal, connection.id, force=False, entity_type=ENTITY, crm_object=CRM_OBJECT)


def sync_deal_now(deal: DealRegistration) -> list[CrmLink]:
    """A person asks: push this registration to every connection that syncs registrations (re-links
    an unlinked one). Raises DomainError when there is none."""
    connections = deal_connections()
    if not connections:
        raise DomainError("No CRM connection syncs deal registrations.")
    links = [scheduling.mark(deal, c.id, force=True, entity_type=ENTITY, crm_object=CRM_OBJECT) for c in connections]
    db.session.commit()
    for connection in connections:
        scheduling.kick_push(connection.id)
    return [link for link in links if link is not None]


def unlink_deal(deal: DealRegistration) -> None:
    """Forget the registration's CRM record; later syncs leave it alone until a person presses Sync now."""
    scheduling.unlink(deal, entity_type=ENTITY, noun="registration")


def deal_panel(deal: DealRegistration) -> reading.RecordPanel:
    """The registration's CRM links and the connections that sync registrations, for its page's CRM panel."""
    return reading.RecordPanel(reading.links_for(deal, entity_type=ENTITY), deal_connections(), "deal", deal.id,
                               deal.number or str(deal.id), "registration")


def link_imported(deal: DealRegistration, connection: CrmConnection, *, crm_id: str, url: str | None) -> CrmLink:
    """In the caller's transaction: the registration is linked from the start to the CRM record it was
    imported from; the push that follows the commit writes the registration's id on that record (so
    the pull finds it). Never commits."""
    db.session.flush()
    link = CrmLink(connection_id=connection.id, entity_type=ENTITY, entity_id=deal.id, crm_object=CRM_OBJECT,
                   crm_id=crm_id, url=url, dirty=True, version=1, state="synced", pushed_values={}, remote_values={})
    db.session.add(link)
    scheduling.schedule_push(connection.id)
    return link


def linked_to(connection: CrmConnection, crm_ids: list[str]) -> dict[str, CrmLink]:
    """CRM id -> the link of a record that is linked to it on this connection (unlinked ones aside)."""
    if not crm_ids:
        return {}
    found = db.session.scalars(db.select(CrmLink).where(
        CrmLink.connection_id == connection.id, CrmLink.crm_id.in_(crm_ids), CrmLink.state != "unlinked"))
    return {link.crm_id: link for link in found}
