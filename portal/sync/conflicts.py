"""A field changed on both sides since the last sync (organization sync, issue #14): the configured
master's value wins and the integration log says what happened, in words.

"Changed in the portal" means the value the portal would send differs from the one last written to
(or read from) the CRM for that property (`CrmLink.pushed_values`); "changed in the CRM" is what the
pull found (the engine passes only the fields the CRM changed).
"""
from __future__ import annotations

from portal.extensions import db
from portal.models import CrmLink, SyncLog
from portal.sync import mapping


def resolve(connection_id: int, connector, entity, mappings, link: CrmLink, values: dict, current: dict,
            fields: dict, master: str | None) -> dict:
    """The pulled fields to apply: without those the portal changed too when the portal is the master
    (the link is dirty again, so the push sends the portal's value); all of them otherwise. Each
    conflict is logged."""
    portal_wins = master == "portal"
    pushed = link.pushed_values or {}
    kept = dict(fields)
    for m in mappings:
        if m.crm_object != entity.crm_object or not m.pushes or m.portal_field not in fields:
            continue
        ours = mapping.push_properties([m], entity.crm_object, values).get(m.crm_field)
        if ours == pushed.get(m.crm_field):
            continue  # the portal did not change it since the last sync
        label = entity.fields.get(m.portal_field, (m.portal_field,))[0]
        winner = "The portal's value wins (master: the portal)" if portal_wins else \
            f"{connector.label}'s value wins (master: {connector.label})"
        db.session.add(SyncLog(
            connection_id=connection_id, entity_type=entity.name, entity_id=link.entity_id, direction="pull",
            action="conflict", status="ok",
            message=(f"{label} changed in both since the last sync: the portal has {ours!r}, {connector.label} has "
                     f"{current.get(m.crm_field)!r} ({m.crm_field}). {winner}.")[:2000]))
        if portal_wins:
            kept.pop(m.portal_field)
            link.dirty, link.version = True, (link.version or 0) + 1
    return kept
