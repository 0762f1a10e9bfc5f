"""A CRM record the portal does not know yet, that the CRM marks as the portal's (a Salesforce
Account flagged "Sync with Portal", a Contact on it): the entity's inbound use case
(`Entity.create_from_crm`) makes the portal record, or finds the one it is (a user of that email),
and the link is written in the same commit through the `link` callback it is given.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from portal.errors import DomainError
from portal.extensions import db
from portal.models import CrmLink, SyncLog
from portal.models.crm import LinkState
from portal.models.types import utcnow
from portal.sync import mapping
from portal.sync.connectors.base import Change


@dataclass
class Adopted:
    link_id: int | None = None
    created: bool = False     # a new portal record (False: an existing one was linked)
    error: bool = False


def create_from_change(connection_id: int, connector, entity, mappings, change: Change,
                       options: dict) -> Adopted | None:
    """Make (or find) the record and its link in one commit; None when it is not for the portal (a
    kind the connection does not sync). A refusal is logged in words and counted as an error."""
    current = change.properties
    fields = mapping.pull_values(mappings, entity.crm_object, current, entity.fields)
    outcome = Adopted()
    links: list[CrmLink] = []

    def link(record, *, created: bool = True) -> None:
        found = db.session.scalar(db.select(CrmLink).where(CrmLink.connection_id == connection_id,
                                                           CrmLink.entity_type == entity.name,
                                                           CrmLink.entity_id == record.id))
        if found is not None and (found.state == LinkState.UNLINKED.value or found.crm_id not in (None, change.crm_id)):
            return  # not to sync, or linked to another CRM record already: left as it is
        if found is None:
            found = CrmLink(connection_id=connection_id, entity_type=entity.name, entity_id=record.id,
                            crm_object=entity.crm_object, version=0, pushed_values={}, remote_values={})
            db.session.add(found)
        # Dirty: the CRM record learns the portal's id (and whatever the portal holds that it lacks).
        found.crm_id, found.state, found.dirty = change.crm_id, LinkState.SYNCED.value, True
        found.version = (found.version or 0) + 1
        if created:
            found.pushed_values, found.remote_values = dict(current), dict(current)
            found.remote_modified_ms, found.last_pulled_at = change.modified_ms, utcnow()
        outcome.created = created
        links.append(found)
        verb = "Made" if created else "Linked"
        db.session.add(SyncLog(connection_id=connection_id, entity_type=entity.name, entity_id=record.id,
                               direction="pull", action=f"{'create' if created else 'link'} {entity.name}", status="ok",
                               message=f"{verb} from {connector.label} record {change.crm_id}: {entity.label(record)}",
                               request_summary=_summary(current)))
    try:
        entity.create_from_crm(fields=fields, crm_id=change.crm_id, parent_crm_id=change.parent_id,
                               connection_id=connection_id, options=options, actor_label=connector.label, link=link)
    except DomainError as err:
        db.session.rollback()
        db.session.add(SyncLog(connection_id=connection_id, entity_type=entity.name, direction="pull",
                               action=f"create {entity.name}", status="error",
                               message=f"{connector.label} record {change.crm_id}: {err.message}"[:2000],
                               request_summary=_summary(current)))
        db.session.commit()
        return Adopted(error=True)
    db.session.commit()
    if not links:
        return None
    outcome.link_id = links[0].id
    return outcome


def _summary(props: dict) -> str:
    return json.dumps(props, sort_keys=True, default=str)[:500]
