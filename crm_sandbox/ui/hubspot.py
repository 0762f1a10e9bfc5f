"""HubSpot record pages: lists and editable records under /sandbox/hubspot/ui/.

Edits call the same `objects.update` as PATCH does, so `hs_lastmodifieddate` moves and
webhooks fire exactly as for an API change (with changeSource CRM_UI).
"""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from crm_sandbox import clock, store
from crm_sandbox.hubspot import associations, errors, object_types, objects, pipelines, properties

bp = Blueprint("ui", __name__, url_prefix="/ui")
links = Blueprint("links", __name__)
PAGE_SIZE = 50
NAV = [("contacts", "Contacts"), ("companies", "Companies"), ("deals", "Deals")]
COLUMNS = {"contacts": ["email", "firstname", "lastname", "company"],
           "companies": ["name", "domain", "city"],
           "deals": ["dealname", "dealstage", "amount", "closedate"]}
TITLE = {"contacts": "firstname", "companies": "name", "deals": "dealname"}


def _chrome(active: str) -> dict:
    return {"crm_label": "HubSpot", "accent": "#ff7a59", "nav": NAV, "active": active,
            "list_endpoint": "hubspot.ui.records"}


@bp.get("/")
def index():
    return redirect(url_for(".records", object_type="deals"))


@bp.get("/<object_type>")
def records(object_type):
    object_type = object_types.canonical(object_type)
    page = max(int(request.args.get("page", 1)), 1)
    session = store.session()
    rows, total = objects.recent(session, object_type, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    defs = properties.definitions(session, object_type)
    return render_template(
        "list.html", **_chrome(object_type), title=dict(NAV)[object_type], total=total, page=page,
        has_next=page * PAGE_SIZE < total,
        columns=[{"label": defs[c]["label"]} for c in COLUMNS[object_type]],
        rows=[{"url": url_for(".record", object_type=object_type, record_id=r.id),
               "cells": [_display(r.object_type, c, r.properties.get(c)) for c in COLUMNS[object_type]],
               "modified": clock.hubspot_iso(r.updated_at)} for r in rows])


@bp.get("/<object_type>/<int:record_id>")
def record(object_type, record_id, error: str | None = None):
    object_type = object_types.canonical(object_type)
    session = store.session()
    found = objects.get(session, object_type, record_id)
    defs = properties.definitions(session, object_type)
    values = found.values()
    editable = [_field(found, d, values.get(name)) for name, d in defs.items()
                if not d["modificationMetadata"]["readOnlyValue"]]
    related = []
    for to_type, label in NAV:
        if to_type == object_type:
            continue
        targets = associations.targets(session, [found.id], to_type).get(found.id, {})
        related.append((label, [(f"{object_types.SINGULAR[to_type]} {i}",
                                 url_for(".record", object_type=to_type, record_id=i)) for i in targets]))
    badge, badge_class = None, ""
    if object_type == "deals":
        stage = pipelines.stage(values.get("pipeline", ""), values.get("dealstage", ""))
        badge = stage["label"] if stage else None
        badge_class = {"closedwon": "won", "closedlost": "lost"}.get(values.get("dealstage"), "")
    system = [(defs[n]["label"], values.get(n)) for n in defs if defs[n]["modificationMetadata"]["readOnlyValue"]]
    return render_template(
        "record.html", **_chrome(object_type), heading=values.get(TITLE[object_type]) or f"Record {found.id}",
        kind=object_types.SINGULAR[object_type].capitalize(), record_id=found.id, badge=badge,
        badge_class=badge_class, error=error, editable=editable, related=related, system=system, actions=[],
        save_url=url_for(".update", object_type=object_type, record_id=found.id),
        back_url=url_for(".records", object_type=object_type)), (422 if error else 200)


@bp.post("/<object_type>/<int:record_id>")
def update(object_type, record_id):
    object_type = object_types.canonical(object_type)
    session = store.session()
    current = objects.get(session, object_type, record_id).values()
    changes = {name: value for name, value in request.form.items() if value != (current.get(name) or "")}
    try:
        objects.update(session, object_type, record_id, changes, source="CRM_UI")
    except errors.HubSpotError as err:
        session.rollback()
        return record(object_type, record_id, error=err.message)
    return redirect(url_for(".record", object_type=object_type, record_id=record_id), code=303)


def _field(found: objects.Record, definition: dict, value) -> dict:
    name, options, blank = definition["name"], None, True
    if name == "dealstage":
        pipeline = pipelines.PIPELINES.get(found.properties.get("pipeline", pipelines.DEFAULT_PIPELINE))
        options = [(s["id"], s["label"]) for s in (pipeline or {"stages": []})["stages"]]
        blank = False
    elif definition["type"] == "bool":
        options = [("true", "Yes"), ("false", "No")]
    elif definition["type"] == "enumeration" and definition["options"]:
        options = [(o["value"], o["label"]) for o in definition["options"]]
    return {"name": name, "label": definition["label"], "value": value, "options": options, "blank": blank}


def _display(object_type: str, name: str, value):
    if object_type == "deals" and name == "dealstage" and value:
        for pipeline in pipelines.PIPELINES.values():
            for stage in pipeline["stages"]:
                if stage["id"] == value:
                    return stage["label"]
    return value


# "View in HubSpot" links follow app.hubspot.com/contacts/{portalId}/record/{objectTypeId}/{id}
# (FACTS §1.2); the same shape on the sandbox lands on its record page.
@links.get("/contacts/<portal_id>/record/<type_id>/<int:record_id>")
def hubspot_style_record(portal_id, type_id, record_id):
    return redirect(url_for("hubspot.ui.record", object_type=object_types.canonical(type_id),
                            record_id=record_id))
