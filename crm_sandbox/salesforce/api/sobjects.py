"""REST `/services/data/vNN.0/`: versions, sObjects, describe, rows, upsert, updated/deleted, limits."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from crm_sandbox import clock, runtime, store
from crm_sandbox.salesforce import describe as describe_, fields, records
from crm_sandbox.salesforce.api import gate, shapes
from crm_sandbox.salesforce.errors import SalesforceError

bp = Blueprint("sobjects", __name__)
gate.install(bp)
versions_bp = Blueprint("versions", __name__)
gate.install(versions_bp, authenticated=False)

DATA = "/services/data/<version>"
REPLICATION_DAYS = 30


@versions_bp.get("/services/data/")
@versions_bp.get("/services/data")
def versions():
    return jsonify([{"label": f"v{n}.0", "url": f"/services/data/v{n}.0", "version": f"{n}.0"}
                    for n in range(gate.MIN_VERSION, gate.MAX_VERSION + 1)])


@bp.get(DATA + "/")
@bp.get(DATA)
def resources(version):
    base = f"/services/data/{version}"
    return jsonify({name: f"{base}/{name}" for name in ("sobjects", "query", "queryAll", "composite", "limits")})


@bp.get(DATA + "/limits")
@bp.get(DATA + "/limits/")
def limits(version):
    daily = runtime.crm("salesforce").limits.daily
    return jsonify({"DailyApiRequests": {"Max": daily.max, "Remaining": daily.remaining},
                    "DailyBulkApiRequests": {"Max": 5000, "Remaining": 5000},
                    "ConcurrentSyncReportRuns": {"Max": 20, "Remaining": 20},
                    "DataStorageMB": {"Max": 5, "Remaining": 5}})


@bp.get(DATA + "/sobjects")
@bp.get(DATA + "/sobjects/")
def describe_global(version):
    return jsonify({"encoding": "UTF-8", "maxBatchSize": 200,
                    "sobjects": [describe_.basic(s, version) for s in fields.schema().values()]})


@bp.get(DATA + "/sobjects/<sobject>")
@bp.get(DATA + "/sobjects/<sobject>/")
def basic_info(version, sobject):
    described = records.describe(sobject)
    return jsonify({"objectDescribe": describe_.basic(described, version), "recentItems": []})


@bp.get(DATA + "/sobjects/<sobject>/describe")
@bp.get(DATA + "/sobjects/<sobject>/describe/")
def describe(version, sobject):
    return jsonify(describe_.describe(records.describe(sobject), version))


@bp.post(DATA + "/sobjects/<sobject>")
@bp.post(DATA + "/sobjects/<sobject>/")
def create(version, sobject):
    body = shapes.json_body()
    if not isinstance(body, dict):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
    record = records.create(store.session(), records.writable(sobject).name, body, **shapes.save_options())
    return jsonify(shapes.save_result(record)), 201


@bp.get(DATA + "/sobjects/<sobject>/<record_id>")
def read(version, sobject, record_id):
    described = records.describe(sobject)
    record = records.get(store.session(), described.name, record_id)
    return jsonify(shapes.record_json(record, version, shapes.wanted_fields(described, request.args.get("fields"))))


@bp.patch(DATA + "/sobjects/<sobject>/<record_id>")
def update(version, sobject, record_id):
    body = shapes.json_body()
    if not isinstance(body, dict):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
    records.update(store.session(), records.writable(sobject).name, record_id, body, **shapes.save_options())
    return "", 204


@bp.delete(DATA + "/sobjects/<sobject>/<record_id>")
def delete(version, sobject, record_id):
    records.writable(sobject)
    error = records.delete(store.session(), [record_id])[record_id]
    if error:
        raise error
    return "", 204


@bp.get(DATA + "/sobjects/<sobject>/<ext_field>/<path:value>")
def read_by_external_id(version, sobject, ext_field, value):
    described = records.describe(sobject)
    definition = records.external_id_field(described, ext_field)
    session = store.session()
    if definition.name == "Id":
        record = records.get(session, described.name, value)
    else:
        hits = records.matching(session, described.name, definition.name, [value]).get(value, [])
        if not hits:
            raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
        if len(hits) > 1:
            return _multiple_choices(version, described.name, hits)
        record = records.get(session, described.name, hits[0])
    return jsonify(shapes.record_json(record, version, shapes.wanted_fields(described, request.args.get("fields"))))


@bp.patch(DATA + "/sobjects/<sobject>/<ext_field>/<path:value>")
def upsert(version, sobject, ext_field, value):
    described = records.writable(sobject)
    body = shapes.json_body()
    if not isinstance(body, dict):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
    update_only = request.args.get("updateOnly", "false").lower() == "true"
    session = store.session()
    plans = records.upsert_plans(session, described, ext_field, [(value, body)], update_only=update_only)
    p = plans[0]
    if p.errors and p.errors[0].error_code == "DUPLICATE_EXTERNAL_ID":
        hits = records.matching(session, described.name, ext_field, [value]).get(value, [])
        return _multiple_choices(version, described.name, hits)
    records.save(session, plans, **shapes.save_options())
    records.raise_first(p)
    # API 46.0 and later answer 201/200 with {id, success, errors, created}; before, an update
    # answered 204 without a body and a creation 201 without `created` (FACTS §2.3).
    if not gate.version_at_least(version, 46):
        return (jsonify(shapes.save_result(p)), 201) if p.record is None else ("", 204)
    return jsonify(shapes.save_result(p, created=True)), (201 if p.record is None else 200)


def _multiple_choices(version: str, sobject: str, record_ids: list[str]):
    """300: the external id matches several records; the body lists their URLs (FACTS §2.3)."""
    response = jsonify([f"/services/data/{version}/sobjects/{sobject}/{i}" for i in record_ids])
    response.status_code = 300
    return response


@bp.get(DATA + "/sobjects/<sobject>/updated")
@bp.get(DATA + "/sobjects/<sobject>/updated/")
def get_updated(version, sobject):
    described = records.describe(sobject)
    start, end = _replication_window()
    ids = records.updated_ids(store.session(), described.name, start, end)
    return jsonify({"ids": ids, "latestDateCovered": clock.salesforce_datetime(end)})


@bp.get(DATA + "/sobjects/<sobject>/deleted")
@bp.get(DATA + "/sobjects/<sobject>/deleted/")
def get_deleted(version, sobject):
    described = records.describe(sobject)
    start, end = _replication_window()
    deleted = records.deleted_since(store.session(), described.name, start, end)
    earliest = clock.now_ms() - REPLICATION_DAYS * 86_400_000
    return jsonify({"deletedRecords": [{"id": i, "deletedDate": clock.salesforce_datetime(ms)} for i, ms in deleted],
                    "earliestDateAvailable": clock.salesforce_datetime(earliest - earliest % 60_000),
                    "latestDateCovered": clock.salesforce_datetime(end)})


def _replication_window() -> tuple[int, int]:
    """start/end query parameters, seconds truncated; raises INVALID_REPLICATION_DATE (FACTS §2.11)."""
    start_ms = clock.parse_datetime_ms(request.args.get("start", ""))
    end_ms = clock.parse_datetime_ms(request.args.get("end", ""))
    if start_ms is None or end_ms is None:
        raise SalesforceError(400, "INVALID_REPLICATION_DATE", "start and end are required ISO-8601 datetimes")
    start_ms, end_ms = start_ms - start_ms % 1000, end_ms - end_ms % 1000
    if start_ms >= end_ms:
        raise SalesforceError(400, "INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate")
    if start_ms < clock.now_ms() - REPLICATION_DAYS * 86_400_000:
        raise SalesforceError(400, "INVALID_REPLICATION_DATE",
                              f"startDate cannot be more than {REPLICATION_DAYS} days ago")
    return start_ms, min(end_ms, clock.now_ms())
