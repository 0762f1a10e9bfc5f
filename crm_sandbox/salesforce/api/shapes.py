"""JSON shapes shared by the Salesforce endpoints."""
from __future__ import annotations

from flask import request

from crm_sandbox.salesforce import fields, records
from crm_sandbox.salesforce.errors import SalesforceError


def record_json(record: records.Record, version: str, wanted: list[str] | None = None) -> dict:
    sobject = fields.sobject(record.sobject)
    names = wanted or list(sobject.fields)
    body = {"attributes": {"type": record.sobject,
                           "url": f"/services/data/{version}/sobjects/{record.sobject}/{record.id}"}}
    for name in names:
        body[name] = record.fields.get(name)
    return body


def wanted_fields(sobject: fields.SObject, text: str | None) -> list[str] | None:
    if not text:
        return None
    names = []
    for name in text.split(","):
        definition = sobject.field(name.strip())
        if definition is None:
            raise SalesforceError(400, "INVALID_FIELD",
                                  f"No such column '{name.strip()}' on sobject of type {sobject.name}")
        names.append(definition.name)
    return names


def allow_save() -> bool:
    """`Sforce-Duplicate-Rule-Header: allowSave=true` (FACTS §2.9): save despite an alert rule."""
    header = request.headers.get("Sforce-Duplicate-Rule-Header", "")
    options = dict(part.strip().partition("=")[::2] for part in header.split(";") if "=" in part)
    return options.get("allowSave", "").strip().lower() == "true"


def save_options() -> dict:
    """How API writes save: through the duplicate rules, honouring the header."""
    return {"duplicate_rules": True, "allow_save": allow_save()}


def json_body():
    body = request.get_json(silent=True)
    if body is None:
        raise SalesforceError(400, "JSON_PARSER_ERROR", "The request body is not valid JSON")
    return body


def save_result(record_or_plan, *, created: bool | None = None) -> dict:
    """SaveResult / UpsertResult: {id, success, errors[, created]} with statusCode errors."""
    if isinstance(record_or_plan, records.Plan):
        p = record_or_plan
        body = {"id": p.result.id if p.result else None, "success": not p.errors,
                "errors": [e.collection_item() for e in p.errors]}
        if created is not None:
            body["created"] = bool(p.result) and p.record is None
        if p.errors:
            body.pop("id")
        return body
    body = {"id": record_or_plan.id, "success": True, "errors": []}
    if created is not None:
        body["created"] = created
    return body
