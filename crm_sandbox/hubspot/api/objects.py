"""CRM v3 object endpoints for contacts, companies and deals (FACTS §1.3, §1.4, §1.5)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from crm_sandbox import clock, runtime, store
from crm_sandbox.hubspot import associations, errors, object_types, objects, properties, search
from crm_sandbox.hubspot.api import gate

bp = Blueprint("objects", __name__)
gate.install(bp)

LEGACY, DATED = "/crm/v3/objects/<object_type>", "/crm/objects/2026-03/<object_type>"
MAX_PAGE = 100


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise errors.validation("Invalid input JSON on line 1: expected a JSON object")
    return body


def _names(values) -> list[str]:
    names = []
    for value in values or []:
        names.extend(n.strip() for n in str(value).split(",") if n.strip())
    return names


def _arg_names(key: str) -> list[str]:
    return _names(request.args.getlist(key))


def record_json(record: objects.Record, wanted: list[str] | None, *, new: bool | None = None) -> dict:
    """HubSpot's SimplePublicObject: requested properties (null when unset) or the defaults."""
    values = record.values()
    names = list(wanted) if wanted else list(properties.DEFAULT_RETURNED[record.object_type])
    for always in ("createdate", properties.MODIFIED[record.object_type], "hs_object_id"):
        if always not in names:
            names.append(always)
    body = {"id": str(record.id), "properties": {n: values.get(n) for n in names},
            "createdAt": clock.hubspot_iso(record.created_at),
            "updatedAt": clock.hubspot_iso(record.updated_at), "archived": record.archived,
            "url": f"{runtime.base_url('hubspot')}/ui/{record.object_type}/{record.id}"}
    if record.archived:
        body["archivedAt"] = body["updatedAt"]
    if new is not None:
        body["new"] = new
    return body


def _with_associations(session, bodies: list[dict], records: list[objects.Record], to_names: list[str]):
    for name in to_names:
        to_type = object_types.canonical(name)
        found = associations.targets(session, [r.id for r in records], to_type)
        for body, record in zip(bodies, records):
            links = [{"id": str(to_id), "type": associations.v3_type_name(type_id)}
                     for to_id, type_ids in found.get(record.id, {}).items() for type_id in type_ids]
            if links:
                body.setdefault("associations", {})[to_type] = {"results": links}
    return bodies


def _batch_response(results: list[dict], plans_or_errors: list, started: int, status: int = 200):
    failed = [e for e in plans_or_errors if e is not None]
    body = {"status": "COMPLETE", "results": results, "startedAt": clock.hubspot_iso(started),
            "completedAt": clock.hubspot_iso(clock.now_ms())}
    if failed:
        body["numErrors"] = len(failed)
        body["errors"] = failed
        status = 207
    return jsonify(body), status


def _inline_associations(session, object_type: str, record_id: int, items) -> None:
    if not items:
        return
    if not isinstance(items, list):
        raise errors.validation("associations must be a list")
    grouped: dict[str, list] = {}
    for item in items:
        to_id = str(((item or {}).get("to") or {}).get("id", ""))
        if not to_id.isdigit():
            raise errors.validation("Each association needs to.id, a record id")
        specs = (item or {}).get("types")
        type_ids = [int((s or {}).get("associationTypeId", 0)) for s in specs or []]
        if not type_ids or any(t not in associations.TYPES for t in type_ids):
            raise errors.validation(f"Unknown association types in {specs}")
        to_type = associations.TYPES[type_ids[0]][1]
        associations.type_ids(object_type, to_type, specs)
        grouped.setdefault(to_type, []).append((record_id, int(to_id), type_ids))
    for to_type, pairs in grouped.items():
        associations.associate(session, object_type, to_type, pairs)


@gate.route(bp, LEGACY, DATED, methods=["GET"])
def list_records(object_type):
    object_type = object_types.canonical(object_type)
    limit = min(max(int(request.args.get("limit", 10)), 1), MAX_PAGE)
    after = int(request.args.get("after") or 0)
    archived = request.args.get("archived", "false").lower() == "true"
    session = store.session()
    records, next_after = objects.page(session, object_type, limit=limit, after=after, archived=archived)
    bodies = [record_json(r, _arg_names("properties")) for r in records]
    _with_associations(session, bodies, records, _arg_names("associations"))
    body = {"results": bodies}
    if next_after is not None:
        link = f"{request.base_url}?after={next_after}&limit={limit}"
        body["paging"] = {"next": {"after": str(next_after), "link": link}}
    return jsonify(body)


@gate.route(bp, LEGACY, DATED, methods=["POST"])
def create(object_type):
    object_type = object_types.canonical(object_type)
    body = _body()
    session = store.session()
    record = objects.create(session, object_type, body.get("properties") or {})
    _inline_associations(session, object_type, record.id, body.get("associations"))
    return jsonify(record_json(record, list(record.properties))), 201


@gate.route(bp, LEGACY + "/<object_id>", DATED + "/<object_id>", methods=["GET"])
def read(object_type, object_id):
    object_type = object_types.canonical(object_type)
    session = store.session()
    archived = request.args.get("archived", "false").lower() == "true"
    record = objects.get(session, object_type, object_id, id_property=request.args.get("idProperty"),
                         archived=archived)
    body = record_json(record, _arg_names("properties"))
    _with_associations(session, [body], [record], _arg_names("associations"))
    return jsonify(body)


@gate.route(bp, LEGACY + "/<object_id>", DATED + "/<object_id>", methods=["PATCH"])
def update(object_type, object_id):
    object_type = object_types.canonical(object_type)
    values = _body().get("properties") or {}
    record = objects.update(store.session(), object_type, object_id, values,
                            id_property=request.args.get("idProperty"))
    return jsonify(record_json(record, list(values)))


@gate.route(bp, LEGACY + "/<object_id>", DATED + "/<object_id>", methods=["DELETE"])
def archive(object_type, object_id):
    object_type = object_types.canonical(object_type)
    if str(object_id).isdigit():
        objects.archive(store.session(), object_type, [int(object_id)])
    return "", 204


@gate.route(bp, LEGACY + "/batch/create", DATED + "/batch/create", methods=["POST"])
def batch_create(object_type):
    object_type = object_types.canonical(object_type)
    started = clock.now_ms()
    inputs = objects.check_batch_size(_body().get("inputs"))
    session = store.session()
    defs = properties.definitions(session, object_type)
    plans = [objects.plan_create(defs, object_type, i, (item or {}).get("properties") or {},
                                 (item or {}).get("objectWriteTraceId"))
             for i, item in enumerate(inputs)]
    objects.save(session, object_type, plans)
    # Without objectWriteTraceId one bad input fails the whole batch (FACTS §1.4).
    multi_status = all(p.trace_id for p in plans)
    if not multi_status:
        objects.raise_first_error(plans)
    for plan, item in zip(plans, inputs):
        if plan.result is not None:
            _inline_associations(session, object_type, plan.result.id, (item or {}).get("associations"))
    results = [record_json(p.result, list(p.result.properties)) for p in plans if p.result]
    failures = [_traced(p) for p in plans if p.error]
    response, status = _batch_response(results, failures, started)
    return response, (status if failures else 201)


def _traced(plan: objects.Plan) -> dict:
    error = plan.error.standard_error()
    error["context"] = dict(error["context"], objectWriteTraceId=[plan.trace_id])
    return error


@gate.route(bp, LEGACY + "/batch/read", DATED + "/batch/read", methods=["POST"])
def batch_read(object_type):
    object_type = object_types.canonical(object_type)
    started = clock.now_ms()
    body = _body()
    inputs = objects.check_batch_size(body.get("inputs"))
    wanted = [str((i or {}).get("id", "")) for i in inputs]
    session = store.session()
    ids = objects.resolve(session, object_type, wanted, body.get("idProperty"))
    found = objects.fetch(session, object_type, ids.values(), archived=bool(body.get("archived")))
    names = _names(body.get("properties"))
    results, missing = [], []
    for value in wanted:
        record = found.get(ids.get(value, -1))
        if record is None:
            missing.append(value)
        else:
            results.append(record_json(record, names))
    failures = []
    if missing:
        failures.append(errors.HubSpotError(
            404, f"Could not get some {object_types.SINGULAR[object_type].upper()} objects, they may "
                 "be deleted or not exist. Check that ids are valid.", "OBJECT_NOT_FOUND",
            context={"ids": missing}).standard_error())
    return _batch_response(results, failures, started)


@gate.route(bp, LEGACY + "/batch/update", DATED + "/batch/update", methods=["POST"])
def batch_update(object_type):
    object_type = object_types.canonical(object_type)
    started = clock.now_ms()
    inputs = objects.check_batch_size(_body().get("inputs"))
    session = store.session()
    defs = properties.definitions(session, object_type)
    by_property: dict = {}
    for item in inputs:
        by_property.setdefault((item or {}).get("idProperty"), []).append(str((item or {}).get("id", "")))
    ids = {}
    for id_property, values in by_property.items():
        for value, record_id in objects.resolve(session, object_type, values, id_property,
                                                for_update=True).items():
            ids[(id_property, value)] = record_id
    found = objects.fetch(session, object_type, ids.values())
    plans = []
    for index, item in enumerate(inputs):
        item = item or {}
        key = (item.get("idProperty"), str(item.get("id", "")))
        record = found.get(ids.get(key, -1))
        if record is None:
            plan = objects.Plan(index, None, {}, trace_id=item.get("objectWriteTraceId"))
            plan.error = errors.not_found(f"Object {key[1]} not found")
        else:
            plan = objects.plan_update(defs, record, index, item.get("properties") or {},
                                       item.get("objectWriteTraceId"))
        plans.append(plan)
    valid = [p for p in plans if not p.error]
    objects.save(session, object_type, valid)
    if not all(p.trace_id for p in plans):
        objects.raise_first_error(plans)
    results = [record_json(p.result, list((inputs[p.index] or {}).get("properties") or {}))
               for p in plans if p.result]
    return _batch_response(results, [_traced(p) for p in plans if p.error], started)


@gate.route(bp, LEGACY + "/batch/upsert", DATED + "/batch/upsert", methods=["POST"])
def batch_upsert(object_type):
    object_type = object_types.canonical(object_type)
    started = clock.now_ms()
    inputs = objects.check_batch_size(_body().get("inputs"))
    session = store.session()
    defs = properties.definitions(session, object_type)
    seen, duplicates, by_property = set(), [], {}
    for item in inputs:
        item = item or {}
        if not item.get("idProperty") or item.get("id") in (None, ""):
            raise errors.validation("Each upsert input needs id and idProperty")
        key = (item["idProperty"], str(item["id"]).strip().lower())
        if key in seen:
            duplicates.append(str(item["id"]))
        seen.add(key)
        by_property.setdefault(item["idProperty"], []).append(str(item["id"]))
    if duplicates:
        # Two inputs resolving to one record make HubSpot reject the batch (FACTS §1.4).
        raise errors.validation(f"Duplicate IDs found in batch input: {duplicates}. "
                                "IDs must be unique")
    ids = {}
    for id_property, values in by_property.items():
        for value, record_id in objects.resolve(session, object_type, values, id_property).items():
            ids[(id_property, value)] = record_id
    found = objects.fetch(session, object_type, ids.values())
    plans = []
    for index, item in enumerate(inputs):
        values = dict(item.get("properties") or {})
        record = found.get(ids.get((item["idProperty"], str(item["id"])), -1))
        if record is None:
            values[item["idProperty"]] = str(item["id"])
            plans.append(objects.plan_create(defs, object_type, index, values, item.get("objectWriteTraceId")))
        else:
            plans.append(objects.plan_update(defs, record, index, values, item.get("objectWriteTraceId")))
    objects.save(session, object_type, plans)
    objects.raise_first_error(plans)
    results = [record_json(p.result, list((inputs[p.index] or {}).get("properties") or {}),
                           new=p.record is None) for p in plans]
    return _batch_response(results, [], started)


@gate.route(bp, LEGACY + "/batch/archive", DATED + "/batch/archive", methods=["POST"])
def batch_archive(object_type):
    object_type = object_types.canonical(object_type)
    inputs = objects.check_batch_size(_body().get("inputs"))
    ids = [int(i["id"]) for i in inputs if str((i or {}).get("id", "")).isdigit()]
    objects.archive(store.session(), object_type, ids)
    return "", 204


@gate.route(bp, LEGACY + "/search", DATED + "/search", methods=["POST"])
def search_records(object_type):
    object_type = object_types.canonical(object_type)
    body = _body()
    session = store.session()
    total, records, next_after = search.search(session, object_type, body)
    names = _names(body.get("properties"))
    response = {"total": total, "results": [record_json(r, names) for r in records]}
    if next_after is not None:
        response["paging"] = {"next": {"after": str(next_after)}}
    return jsonify(response)
