"""Associations v4 endpoints (FACTS §1.6), on the legacy and the 2026-03 paths."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from crm_sandbox import clock, store
from crm_sandbox.hubspot import associations, errors, object_types
from crm_sandbox.hubspot.api import gate

bp = Blueprint("associations", __name__)
gate.install(bp)

RECORD = "/crm/v4/objects/<object_type>/<int:object_id>/associations/<to_type>"
RECORD_DATED = "/crm/objects/2026-03/<object_type>/<int:object_id>/associations/<to_type>"
BATCH = "/crm/v4/associations/<from_type>/<to_type>/batch"
BATCH_DATED = "/crm/associations/2026-03/<from_type>/<to_type>/batch"
MAX_CREATE, MAX_READ, MAX_LIST = 2000, 1000, 500


def _inputs(limit: int) -> list:
    body = request.get_json(silent=True)
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list):
        raise errors.validation("Invalid input JSON: expected {\"inputs\": [...]}")
    if len(inputs) > limit:
        raise errors.validation(f"Batch input size {len(inputs)} exceeds the limit of {limit}")
    for index, item in enumerate(inputs):
        if not isinstance(item, dict):
            raise errors.validation(f"Invalid input JSON on line 1: inputs[{index}] must be a JSON "
                                    f"object, not {type(item).__name__ if item is not None else 'null'}")
    return inputs


def _id(value) -> int:
    text = str((value or {}).get("id", "") if isinstance(value, dict) else value)
    if not text.isdigit():
        raise errors.validation(f"{text!r} is not a valid record id")
    return int(text)


def _list(value) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise errors.validation("Invalid input JSON on line 1: to must be a list of {\"id\": ...}")
    return value


def _pair_json(from_type, from_id, to_type, to_id, type_ids) -> dict:
    return {"fromObjectTypeId": object_types.TYPE_IDS[from_type], "fromObjectId": str(from_id),
            "toObjectTypeId": object_types.TYPE_IDS[to_type], "toObjectId": str(to_id),
            "labels": [associations.TYPES[t][2] for t in type_ids if associations.TYPES[t][2]]}


def _batch(results: list, started: int) -> dict:
    return {"status": "COMPLETE", "results": results, "startedAt": clock.hubspot_iso(started),
            "completedAt": clock.hubspot_iso(clock.now_ms())}


@gate.route(bp, "/crm/v4/objects/<object_type>/<int:object_id>/associations/default/<to_type>/<int:to_id>",
            "/crm/objects/2026-03/<object_type>/<int:object_id>/associations/default/<to_type>/<int:to_id>",
            methods=["PUT"])
def associate_default(object_type, object_id, to_type, to_id):
    started = clock.now_ms()
    from_type, to_type = object_types.canonical(object_type), object_types.canonical(to_type)
    type_id = associations.default_type(from_type, to_type)
    associations.associate(store.session(), from_type, to_type, [(object_id, to_id, [type_id])])
    spec = {"associationCategory": associations.HUBSPOT_DEFINED, "associationTypeId": type_id}
    return jsonify(_batch([{"from": {"id": str(object_id)}, "to": {"id": str(to_id)},
                            "associationSpec": spec}], started))


@gate.route(bp, RECORD + "/<int:to_id>", RECORD_DATED + "/<int:to_id>", methods=["PUT"])
def associate_labelled(object_type, object_id, to_type, to_id):
    from_type, to_type = object_types.canonical(object_type), object_types.canonical(to_type)
    type_ids = associations.type_ids(from_type, to_type, request.get_json(silent=True))
    associations.associate(store.session(), from_type, to_type, [(object_id, to_id, type_ids)])
    return jsonify(_pair_json(from_type, object_id, to_type, to_id, type_ids)), 201


@gate.route(bp, RECORD + "/<int:to_id>", RECORD_DATED + "/<int:to_id>", methods=["DELETE"])
def remove_pair(object_type, object_id, to_type, to_id):
    from_type, to_type = object_types.canonical(object_type), object_types.canonical(to_type)
    associations.remove(store.session(), from_type, to_type, [(object_id, to_id)])
    return "", 204


@gate.route(bp, RECORD, RECORD_DATED, methods=["GET"])
def list_for_record(object_type, object_id, to_type):
    object_types.canonical(object_type)
    to_type = object_types.canonical(to_type)
    limit = min(max(int(request.args.get("limit", MAX_LIST)), 1), MAX_LIST)
    after = int(request.args.get("after") or 0)
    found = associations.targets(store.session(), [object_id], to_type).get(object_id, {})
    items = [(to_id, type_ids) for to_id, type_ids in found.items() if to_id > after]
    body = {"results": [{"toObjectId": str(to_id),
                         "associationTypes": [associations.spec_json(t) for t in type_ids]}
                        for to_id, type_ids in items[:limit]]}
    if len(items) > limit:
        body["paging"] = {"next": {"after": str(items[limit - 1][0])}}
    return jsonify(body)


@gate.route(bp, BATCH + "/associate/default", BATCH_DATED + "/associate/default", methods=["POST"])
def batch_associate_default(from_type, to_type):
    started = clock.now_ms()
    from_type, to_type = object_types.canonical(from_type), object_types.canonical(to_type)
    type_id = associations.default_type(from_type, to_type)
    pairs = [(_id(i.get("from")), _id(i.get("to")), [type_id]) for i in _inputs(MAX_CREATE)]
    associations.associate(store.session(), from_type, to_type, pairs)
    spec = {"associationCategory": associations.HUBSPOT_DEFINED, "associationTypeId": type_id}
    return jsonify(_batch([{"from": {"id": str(f)}, "to": {"id": str(t)}, "associationSpec": spec}
                           for f, t, _ in pairs], started))


@gate.route(bp, BATCH + "/create", BATCH_DATED + "/create", methods=["POST"])
def batch_create(from_type, to_type):
    started = clock.now_ms()
    from_type, to_type = object_types.canonical(from_type), object_types.canonical(to_type)
    pairs = [(_id(i.get("from")), _id(i.get("to")), associations.type_ids(from_type, to_type, i.get("types")))
             for i in _inputs(MAX_CREATE)]
    associations.associate(store.session(), from_type, to_type, pairs)
    results = [_pair_json(from_type, f, to_type, t, ids) for f, t, ids in pairs]
    return jsonify(_batch(results, started)), 201


@gate.route(bp, BATCH + "/read", BATCH_DATED + "/read", methods=["POST"])
def batch_read(from_type, to_type):
    started = clock.now_ms()
    from_type, to_type = object_types.canonical(from_type), object_types.canonical(to_type)
    ids = [_id(i) for i in _inputs(MAX_READ)]
    found = associations.targets(store.session(), ids, to_type)
    results = [{"from": {"id": str(i)},
                "to": [{"toObjectId": str(to_id), "associationTypes": [associations.spec_json(t) for t in types]}
                       for to_id, types in found[i].items()]}
               for i in ids if i in found]
    return jsonify(_batch(results, started))


@gate.route(bp, BATCH + "/archive", BATCH_DATED + "/archive", methods=["POST"])
def batch_archive(from_type, to_type):
    from_type, to_type = object_types.canonical(from_type), object_types.canonical(to_type)
    pairs = [(_id(i.get("from")), _id(t)) for i in _inputs(MAX_CREATE) for t in _list(i.get("to"))]
    associations.remove(store.session(), from_type, to_type, pairs)
    return "", 204


@gate.route(bp, "/crm/v4/associations/<from_type>/<to_type>/labels",
            "/crm/associations/2026-03/<from_type>/<to_type>/labels", methods=["GET"])
def list_labels(from_type, to_type):
    return jsonify({"results": associations.labels(object_types.canonical(from_type),
                                                   object_types.canonical(to_type))})


# The v4 spec also publishes the labels under this older prefix (FACTS §1.6).
bp.add_url_rule("/crm/associations/v4/<from_type>/<to_type>/labels", view_func=list_labels,
                endpoint="list_labels_v4", methods=["GET"])
