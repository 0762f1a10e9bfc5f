"""sObject Collections: create, update, upsert, retrieve, delete up to 200 records (FACTS §2.4).

A well-formed request answers 200 with one result per record in request order; errors per
record use `statusCode`. With allOrNone, one failure rolls back all.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from crm_sandbox import store
from crm_sandbox.salesforce import fields, ids, records
from crm_sandbox.salesforce.api import gate, shapes
from crm_sandbox.salesforce.errors import SalesforceError

bp = Blueprint("composite", __name__)
gate.install(bp)

COLLECTION = "/services/data/<version>/composite/sobjects"
MAX_RECORDS = 200


def _records_body() -> tuple[list, bool]:
    body = shapes.json_body()
    items = body.get("records") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "Expected {\"allOrNone\": ..., \"records\": [...]}")
    if len(items) > MAX_RECORDS:
        raise SalesforceError(400, "EXCEEDED_ID_LIMIT",
                              f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call")
    return items, bool(body.get("allOrNone", False))


def _type_of(item) -> fields.SObject | None:
    attributes = item.get("attributes") if isinstance(item, dict) else None
    name = attributes.get("type") if isinstance(attributes, dict) else None
    sobject = fields.sobject(name) if isinstance(name, str) and name else None
    return sobject if sobject is not None and not sobject.setup else None


def _bad(index: int, sobject: str, code: str, message: str) -> records.Plan:
    p = records.Plan(index, sobject, None)
    p.errors.append(SalesforceError(400, code, message))
    return p


@bp.post(COLLECTION)
def create(version):
    items, all_or_none = _records_body()
    plans = []
    for index, item in enumerate(items):
        sobject = _type_of(item)
        if sobject is None:
            plans.append(_bad(index, "", "INVALID_TYPE", "Each record needs attributes.type of a supported sObject"))
        elif "Id" in item:
            plans.append(_bad(index, sobject.name, "INVALID_FIELD", "Don't set the Id field on create"))
        else:
            plans.append(records.plan(sobject, index, item, None))
    records.save(store.session(), plans, all_or_none=all_or_none, **shapes.save_options())
    return jsonify([shapes.save_result(p) for p in plans])


@bp.patch(COLLECTION)
def update(version):
    items, all_or_none = _records_body()
    session = store.session()
    # Deleted ones too: a record in the recycle bin answers ENTITY_IS_DELETED, not "invalid id" (FACTS §2).
    found = records.fetch(session, [str((i or {}).get("Id", "")) for i in items if isinstance(i, dict)],
                          include_deleted=True)
    plans = []
    for index, item in enumerate(items):
        sobject = _type_of(item)
        record = found.get(ids.to_18(str(item.get("Id", "")))) if isinstance(item, dict) and \
            ids.looks_like_id(str(item.get("Id", ""))) else None
        if sobject is None:
            plans.append(_bad(index, "", "INVALID_TYPE", "Each record needs attributes.type"))
        elif record is None or record.sobject != sobject.name:
            p = records.Plan(index, sobject.name, None)
            p.errors.append(SalesforceError(404, "INVALID_ID_FIELD", "invalid record id", ["Id"]))
            plans.append(p)
        elif record.is_deleted:
            p = records.Plan(index, sobject.name, None)
            p.errors.append(SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted", []))
            plans.append(p)
        else:
            plans.append(records.plan(sobject, index, item, record))
    records.save(session, plans, all_or_none=all_or_none, **shapes.save_options())
    return jsonify([shapes.save_result(p) for p in plans])


@bp.patch(COLLECTION + "/<sobject>/<ext_field>")
def upsert(version, sobject, ext_field):
    if not gate.version_at_least(version, 46):
        raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
    described = records.writable(sobject)
    items, all_or_none = _records_body()
    definition = records.external_id_field(described, ext_field)
    pairs, bad = [], {}
    for index, item in enumerate(items):
        if not isinstance(item, dict) or _type_of(item) is not described:
            bad[index] = _bad(index, described.name, "INVALID_TYPE",
                              f"The list can contain objects only of type {described.name}")
        elif item.get(definition.name) in (None, "") or isinstance(item.get(definition.name), (dict, list)):
            bad[index] = _bad(index, described.name, "MISSING_ARGUMENT",
                              f"{definition.name} not specified")
        else:
            pairs.append((index, str(item[definition.name]), {k: v for k, v in item.items() if k != definition.name}))
    session = store.session()
    planned = records.upsert_plans(session, described, definition.name, [(v, b) for _, v, b in pairs])
    plans = []
    by_index = {pairs[i][0]: p for i, p in enumerate(planned)}
    for index in range(len(items)):
        p = bad.get(index) or by_index[index]
        p.index = index
        plans.append(p)
    records.save(session, plans, all_or_none=all_or_none, **shapes.save_options())
    return jsonify([shapes.save_result(p, created=True) for p in plans])


@bp.get(COLLECTION + "/<sobject>")
def retrieve(version, sobject):
    described = records.describe(sobject)
    wanted = [i for i in request.args.get("ids", "").split(",") if i]
    if len(wanted) > MAX_RECORDS:
        raise SalesforceError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records")
    names = shapes.wanted_fields(described, request.args.get("fields"))
    found = records.fetch(store.session(), wanted, sobject=described.name)
    return jsonify([shapes.record_json(found[ids.to_18(i)], version, names)
                    if ids.looks_like_id(i) and ids.to_18(i) in found else None for i in wanted])


@bp.delete(COLLECTION)
def delete(version):
    wanted = [i for i in request.args.get("ids", "").split(",") if i]
    if len(wanted) > MAX_RECORDS:
        raise SalesforceError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records")
    outcome = records.delete(store.session(), wanted)
    return jsonify([{"id": i, "success": outcome[i] is None,
                     "errors": [outcome[i].collection_item()] if outcome[i] else []} for i in wanted])
