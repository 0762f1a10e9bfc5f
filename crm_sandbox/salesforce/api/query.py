"""`query` and `queryAll` with `nextRecordsUrl` paging (FACTS §2.6).

The locator in nextRecordsUrl carries the query itself (base64) and the offset, so paging needs
no server-side cursor and works across sandbox restarts.
"""
from __future__ import annotations

import base64
import json
import re

from flask import Blueprint, jsonify, request

from crm_sandbox import store
from crm_sandbox.salesforce import errors, records, relations, soql
from crm_sandbox.salesforce.api import gate

bp = Blueprint("query", __name__)
gate.install(bp)

DATA = "/services/data/<version>"
DEFAULT_BATCH, MIN_BATCH, MAX_BATCH = 2000, 200, 2000


@bp.get(DATA + "/query")
@bp.get(DATA + "/query/")
def query(version):
    return _run(version, request.args.get("q", ""), include_deleted=False, offset=0, batch=_batch_size())


@bp.get(DATA + "/queryAll")
@bp.get(DATA + "/queryAll/")
def query_all(version):
    return _run(version, request.args.get("q", ""), include_deleted=True, offset=0, batch=_batch_size())


@bp.get(DATA + "/query/<locator>")
@bp.get(DATA + "/queryAll/<locator>")
def query_more(version, locator):
    match = re.fullmatch(r"01g([A-Za-z0-9_-]+)-(\d+)", locator)
    if not match:
        raise errors.SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    try:
        state = json.loads(base64.urlsafe_b64decode(match.group(1) + "=" * (-len(match.group(1)) % 4)))
    except ValueError:
        raise errors.SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator") from None
    if not isinstance(state, dict) or not {"q", "all", "b"} <= set(state):
        raise errors.SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return _run(version, str(state["q"]), include_deleted=bool(state["all"]), offset=int(match.group(2)),
                batch=int(state["b"]))


def _batch_size() -> int:
    header = request.headers.get("Sforce-Query-Options", "")
    match = re.search(r"batchSize=(\d+)", header)
    return min(max(int(match.group(1)), MIN_BATCH), MAX_BATCH) if match else DEFAULT_BATCH


def _run(version: str, text: str, *, include_deleted: bool, offset: int, batch: int):
    if not text.strip():
        raise errors.malformed_query("A query string (q) is required")
    parsed = soql.parse(text)
    session = store.session()
    low, high = soql.modstamp_bounds(parsed) if parsed.where is not None else (None, None)
    indexed = {"Id"} | set(records.lookup_fields(parsed.sobject.name)) if not parsed.sobject.setup else set()
    narrow = soql.indexed_condition(parsed, indexed) if parsed.where is not None else None
    rows = records.query_rows(session, parsed.sobject.name, include_deleted=include_deleted,
                              low_ms=low, high_ms=high, narrow=narrow)
    candidates = [dict(r.fields) for r in rows]
    # Parents a WHERE or ORDER BY reads are resolved for every candidate, the rest for the page only.
    filtering = parsed.chains(selected=False, filtering=True)
    relations.attach_parents(session, parsed.sobject, candidates, filtering)
    ordered = soql.sort(parsed, [c for c in candidates if soql.matches(parsed, c)])
    ordered = ordered[parsed.offset:]
    if parsed.limit is not None:
        ordered = ordered[:parsed.limit]
    if parsed.count_only:
        return jsonify({"totalSize": len(ordered), "done": True, "records": []})
    page = ordered[offset:offset + batch]
    relations.attach_parents(session, parsed.sobject, page,
                             parsed.chains(selected=True, filtering=False) - filtering)
    ids = [row["Id"] for row in page]
    kids = {sub.child.name: relations.children(session, sub, ids) for sub in parsed.subqueries}
    body = {"totalSize": len(ordered), "done": offset + batch >= len(ordered),
            "records": [relations.shape(parsed.sobject, row, parsed.fields, version, kids) for row in page]}
    if not body["done"]:
        state = base64.urlsafe_b64encode(json.dumps(
            {"q": text, "all": include_deleted, "b": batch}, separators=(",", ":")).encode()).rstrip(b"=").decode()
        kind = "queryAll" if include_deleted else "query"
        body["nextRecordsUrl"] = f"/services/data/{version}/{kind}/01g{state}-{offset + batch}"
    return jsonify(body)
