"""Salesforce record pages: lists, editable records and lead conversion under /sandbox/salesforce/ui/.

Edits and conversion call the same `records` functions as the REST API, so SystemModstamp and
LastModifiedDate move and the portal's polling sees the change.
"""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from crm_sandbox import clock, store
from crm_sandbox.salesforce import conversion, fields, records
from crm_sandbox.salesforce.errors import SalesforceError

bp = Blueprint("ui", __name__, url_prefix="/ui")
links = Blueprint("links", __name__)
PAGE_SIZE = 50
NAV = [("Lead", "Leads"), ("Account", "Accounts"), ("Contact", "Contacts"), ("Opportunity", "Opportunities")]
COLUMNS = {"Lead": ["LastName", "FirstName", "Company", "Status", "IsConverted"],
           "Account": ["Name", "Portal_Partner_Status__c", "Website"],
           "Contact": ["LastName", "FirstName", "Email", "AccountId"],
           "Opportunity": ["Name", "StageName", "Amount", "CloseDate"]}
TITLE = {"Lead": ("FirstName", "LastName"), "Account": ("Name",), "Contact": ("FirstName", "LastName"),
         "Opportunity": ("Name",)}
SYSTEM = ["Id", "OwnerId", "CreatedDate", "LastModifiedDate", "SystemModstamp"]


def _chrome(active: str) -> dict:
    return {"crm_label": "Salesforce", "accent": "#0176d3", "nav": NAV, "active": active,
            "list_endpoint": "salesforce.ui.records"}


def _data_object(name: str) -> fields.SObject:
    """Lead, Account, Contact or Opportunity; other objects have no pages here."""
    sobject = records.describe(name)
    if sobject.setup or sobject.name not in dict(NAV):
        raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
    return sobject


@bp.get("/")
def index():
    return redirect(url_for(".records", object_type="Lead"))


@bp.get("/<object_type>", endpoint="records")
def record_list(object_type):
    sobject = _data_object(object_type)
    page = max(int(request.args.get("page", 1)), 1)
    rows, total = records.page(store.session(), sobject.name, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    # An org may lack the portal's custom fields (org.py): show the columns it has.
    columns = [c for c in COLUMNS.get(sobject.name, ["Id"]) if c in sobject.fields]
    return render_template(
        "list.html", **_chrome(sobject.name), title=dict(NAV)[sobject.name], total=total, page=page,
        has_next=page * PAGE_SIZE < total,
        columns=[{"label": sobject.fields[c].label} for c in columns],
        rows=[{"url": url_for(".record", object_type=sobject.name, record_id=r.id),
               "cells": [r.fields.get(c) for c in columns],
               "modified": clock.salesforce_datetime(r.modstamp)} for r in rows])


@bp.get("/<object_type>/<record_id>")
def record(object_type, record_id, error: str | None = None):
    sobject = _data_object(object_type)
    found = records.get(store.session(), sobject.name, record_id)
    values = found.fields
    editable = [_field(f, values.get(name)) for name, f in sobject.fields.items()
                if f.updateable and name not in ("OwnerId",)]
    heading = " ".join(str(values.get(n)) for n in TITLE[sobject.name] if values.get(n)) or found.id
    actions, related, badge, badge_class = [], [], None, ""
    if sobject.name == "Lead":
        badge = values.get("Status")
        if values.get("IsConverted"):
            badge_class = "won"
            related = [(label, [(values[key], url_for(".record", object_type=target, record_id=values[key]))]
                        if values.get(key) else [])
                       for label, key, target in (("Converted account", "ConvertedAccountId", "Account"),
                                                  ("Converted contact", "ConvertedContactId", "Contact"),
                                                  ("Converted opportunity", "ConvertedOpportunityId", "Opportunity"))]
        else:
            actions.append({"title": "Convert lead", "button": "Convert",
                            "help": "Creates an account, a contact and an opportunity, and marks the lead converted.",
                            "url": url_for(".convert", record_id=found.id),
                            "checkboxes": [("create_opportunity", "Create an opportunity")]})
    if sobject.name == "Opportunity":
        badge = values.get("StageName")
        badge_class = "won" if values.get("IsWon") else ("lost" if values.get("IsClosed") else "")
    if values.get("AccountId"):
        related.append(("Account", [(values["AccountId"], url_for(".record", object_type="Account",
                                                                  record_id=values["AccountId"]))]))
    system = [(sobject.fields[n].label, values.get(n)) for n in SYSTEM] + [
        (f.label, values.get(n)) for n, f in sobject.fields.items()
        if not f.updateable and n not in SYSTEM and n not in ("IsDeleted", "CreatedById", "LastModifiedById")]
    return render_template(
        "record.html", **_chrome(sobject.name), heading=heading, kind=sobject.label, record_id=found.id,
        badge=badge, badge_class=badge_class, error=error, editable=editable, related=related,
        system=system, actions=actions,
        save_url=url_for(".update", object_type=sobject.name, record_id=found.id),
        back_url=url_for(".records", object_type=sobject.name)), (422 if error else 200)


@bp.post("/<object_type>/<record_id>")
def update(object_type, record_id):
    sobject = _data_object(object_type)
    session = store.session()
    current = records.get(session, sobject.name, record_id).fields
    changes = {}
    for name, value in request.form.items():
        definition = sobject.field(name)
        if definition is None or _shown(definition, current.get(name)) == value:
            continue
        changes[name] = value
    try:
        records.update(session, sobject.name, record_id, changes)
    except SalesforceError as err:
        session.rollback()
        return record(sobject.name, record_id, error=f"{err.error_code}: {err.message}")
    return redirect(url_for(".record", object_type=sobject.name, record_id=record_id), code=303)


@bp.post("/Lead/<record_id>/convert")
def convert(record_id):
    session = store.session()
    try:
        conversion.convert_lead(session, record_id,
                             create_opportunity=request.form.get("create_opportunity") == "1")
    except SalesforceError as err:
        session.rollback()
        return record("Lead", record_id, error=f"{err.error_code}: {err.message}")
    return redirect(url_for(".record", object_type="Lead", record_id=record_id), code=303)


def _shown(definition: fields.Field, value) -> str:
    if value is None:
        return ""
    if definition.type == "boolean":
        return "true" if value else "false"
    if definition.type in ("currency", "double", "percent") and float(value).is_integer():
        return str(int(value)) if definition.type != "percent" else str(value)
    return str(value)


def _field(definition: fields.Field, value) -> dict:
    options, blank = None, definition.nillable
    if definition.type == "picklist":
        options = [(v, v) for v, _ in definition.picklist]
    elif definition.type == "boolean":
        options, blank = [("true", "Yes"), ("false", "No")], False
    return {"name": definition.name, "label": definition.label, "value": _shown(definition, value),
            "options": options, "blank": blank}


# "View in Salesforce" links use /lightning/r/{SObject}/{Id}/view (FACTS §2.1); same shape here.
@links.get("/lightning/r/<object_type>/<record_id>/view")
def lightning_record(object_type, record_id):
    return redirect(url_for("salesforce.ui.record", object_type=records.describe(object_type).name,
                            record_id=record_id))
