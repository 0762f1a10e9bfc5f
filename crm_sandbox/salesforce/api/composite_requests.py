"""The Composite resource: up to 25 subrequests in one call, later ones reading earlier results
through `@{referenceId.path}` (FACTS §2.5).

    POST /services/data/vXX.X/composite
    {"allOrNone": true, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "acct",
         "body": {"Name": "Acme"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "ct",
         "body": {"LastName": "Doe", "AccountId": "@{acct.id}"}}]}

Each subrequest runs the same view as a direct call, inside this request's transaction (so the
whole series counts as one API call and `allOrNone` can roll it all back). Answers
`{"compositeResponse": [{"body", "httpHeaders", "httpStatusCode", "referenceId"}, ...]}` with 200.
"""
from __future__ import annotations

import json
import re
from urllib.parse import quote

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from crm_sandbox import store
from crm_sandbox.salesforce import errors
from crm_sandbox.salesforce.api import gate, shapes
from crm_sandbox.salesforce.errors import SalesforceError

bp = Blueprint("composite_requests", __name__)
gate.install(bp)

MAX_SUBREQUESTS, MAX_COLLECTIONS_OR_QUERIES = 25, 5
METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_REFERENCE_ID = re.compile(r"^[A-Za-z0-9_]{1,80}$")
HALTED = "The transaction was rolled back since another operation in the same transaction failed."


class _Unresolved(Exception):
    pass


@bp.post("/services/data/<version>/composite")
@bp.post("/services/data/<version>/composite/")
def composite(version):
    body = shapes.json_body()
    subrequests, all_or_none = _validated(body)
    results: dict[str, tuple[int, object]] = {}
    answers: list[dict] = []
    failed = False
    for sub in subrequests:
        reference_id = sub["referenceId"]
        if failed and all_or_none:
            answers.append(_answer(reference_id, 400, [_halted(HALTED)], {}))
            continue
        try:
            url = _substitute(sub["url"], results, in_url=True)
            sub_body = _substitute(sub.get("body"), results)
        except _Unresolved as err:
            status, headers, out = 400, {}, [_halted(str(err))]
        else:
            status, headers, out = _dispatch(sub["method"], url, sub_body, sub.get("httpHeaders") or {})
        results[reference_id] = (status, out)
        answers.append(_answer(reference_id, status, out, headers))
        failed = failed or status >= 400
    if failed and all_or_none:
        store.session().rollback()
        for answer in answers:
            if answer["httpStatusCode"] < 400:
                answer.update(body=[_halted(HALTED)], httpHeaders={}, httpStatusCode=400)
    return jsonify({"compositeResponse": answers})


def _validated(body) -> tuple[list[dict], bool]:
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise SalesforceError(400, "JSON_PARSER_ERROR",
                              "Expected {\"allOrNone\": ..., \"compositeRequest\": [...]}")
    all_or_none = body.get("allOrNone", False)
    if not isinstance(all_or_none, bool):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "allOrNone must be true or false")
    subrequests = body["compositeRequest"]
    if not subrequests or len(subrequests) > MAX_SUBREQUESTS:
        raise SalesforceError(400, "INVALID_INPUT" if subrequests else "JSON_PARSER_ERROR",
                              f"A composite request holds 1 to {MAX_SUBREQUESTS} subrequests")
    seen, heavy = set(), 0
    for index, sub in enumerate(subrequests):
        if not isinstance(sub, dict):
            raise SalesforceError(400, "JSON_PARSER_ERROR", f"compositeRequest[{index}] must be an object")
        method, url, reference_id = sub.get("method"), sub.get("url"), sub.get("referenceId")
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise SalesforceError(400, "INVALID_INPUT", f"compositeRequest[{index}]: method must be one "
                                  f"of {sorted(METHODS)}")
        sub["method"] = method.upper()
        if not isinstance(url, str) or not url.startswith("/services/data/"):
            raise SalesforceError(400, "INVALID_INPUT", f"compositeRequest[{index}]: url must start "
                                  "with /services/data/vXX.X/")
        if not isinstance(reference_id, str) or not _REFERENCE_ID.match(reference_id):
            raise SalesforceError(400, "INVALID_INPUT", f"compositeRequest[{index}]: referenceId must be "
                                  "letters, digits and underscores")
        if reference_id in seen:
            raise SalesforceError(400, "INVALID_INPUT", f"Duplicate referenceId provided: {reference_id}")
        seen.add(reference_id)
        if "httpHeaders" in sub and not isinstance(sub["httpHeaders"], dict):
            raise SalesforceError(400, "JSON_PARSER_ERROR", f"compositeRequest[{index}]: httpHeaders "
                                  "must be an object")
        path = url.split("?", 1)[0]
        if "/composite/sobjects" in path or re.search(r"/query(All)?(/|$)", path):
            heavy += 1
    if heavy > MAX_COLLECTIONS_OR_QUERIES:
        raise SalesforceError(400, "INVALID_INPUT", f"At most {MAX_COLLECTIONS_OR_QUERIES} subrequests can "
                              "be sObject Collections or queries")
    return subrequests, all_or_none


def _halted(message: str) -> dict:
    return {"errorCode": "PROCESSING_HALTED", "message": message}


def _answer(reference_id: str, status: int, body, headers: dict) -> dict:
    return {"body": body, "httpHeaders": headers, "httpStatusCode": status, "referenceId": reference_id}


def _substitute(value, results: dict, *, in_url: bool = False):
    """Replace @{ref.path} in strings (recursively through lists and objects)."""
    if isinstance(value, dict):
        return {k: _substitute(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, results) for v in value]
    if not isinstance(value, str) or "@{" not in value:
        return value
    whole = _REFERENCE.fullmatch(value)
    if whole and not in_url:
        return _resolve(whole, results)  # a lone reference keeps its JSON type (number, boolean)

    def text(match):
        resolved = _resolve(match, results)
        resolved = "" if resolved is None else resolved if isinstance(resolved, str) else json.dumps(resolved)
        return quote(resolved, safe="") if in_url else resolved
    return _REFERENCE.sub(text, value)


def _resolve(match: re.Match, results: dict):
    reference_id, path = match.group(1), match.group(2)
    wanted = f"{reference_id}{path}"
    if reference_id not in results:
        raise _Unresolved(f"Invalid reference specified. No value for {wanted} found in {reference_id}. "
                          f"Provided referenceId ('{reference_id}') must refer to an earlier subrequest")
    status, value = results[reference_id]
    if status >= 400:
        raise _Unresolved(f"Invalid reference specified. No value for {wanted} found in {reference_id}. "
                          f"Provided referenceId ('{reference_id}') refers to a subrequest that failed")
    for part in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        name, index = part
        try:
            value = value[int(index)] if index else value[name]
        except (KeyError, IndexError, TypeError):
            raise _Unresolved(f"Invalid reference specified. No value for {wanted} found in "
                              f"{reference_id}") from None
    return value


def _dispatch(method: str, url: str, body, headers: dict) -> tuple[int, dict, object]:
    """Run one subrequest through the sandbox's own view, in this request's transaction."""
    forwarded = {k: v for k, v in request.headers.items()
                 if k.lower() in ("sforce-duplicate-rule-header", "sforce-query-options")}
    forwarded.update({str(k): str(v) for k, v in headers.items()})
    forwarded["Content-Type"] = "application/json"
    path, _, query = url.partition("?")
    options = {"method": method, "headers": forwarded, "query_string": query,
               "base_url": request.url_root}
    if body is not None:
        options["data"] = json.dumps(body)
    g.sandbox_nested = True  # the subrequest's teardown must not end this request's transaction
    try:
        return _run_view(method, path, options)
    finally:
        g.sandbox_nested = False


def _run_view(method: str, path: str, options: dict) -> tuple[int, dict, object]:
    with current_app.test_request_context("/sandbox/salesforce" + path, **options):
        failure = request.routing_exception
        if failure is not None:
            if getattr(failure, "code", None) == 405:
                return 405, {}, [{"errorCode": "METHOD_NOT_ALLOWED",
                                  "message": f"HTTP Method '{method}' not allowed."}]
            return 404, {}, [errors.not_found().item()]
        if request.url_rule.endpoint.endswith("composite"):
            return 400, {}, [{"errorCode": "INVALID_INPUT",
                              "message": "A composite subrequest can't be a composite request"}]
        try:
            response = current_app.make_response(
                current_app.view_functions[request.url_rule.endpoint](**request.view_args))
        except SalesforceError as err:
            response = err.response()
        except (ValueError, TypeError) as err:
            response = SalesforceError(400, "INVALID_INPUT", str(err)).response()
        except HTTPException as err:
            response = SalesforceError(err.code or 400, "INVALID_INPUT", err.description or "").response()
    out_headers = {}
    payload = response.get_json(silent=True) if response.status_code != 204 else None
    if response.status_code == 201 and isinstance(payload, dict) and payload.get("id") and "/sobjects/" in path:
        # .../sobjects/Account or .../sobjects/Account/Portal_Org_Id__c/O-1 → .../sobjects/Account/<id>
        prefix, _, rest = path.partition("/sobjects/")
        out_headers["Location"] = f"{prefix}/sobjects/{rest.split('/')[0]}/{payload['id']}"
    return response.status_code, out_headers, payload
