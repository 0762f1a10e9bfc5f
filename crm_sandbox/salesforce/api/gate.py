"""What every Salesforce API request passes first: faults, the session, the daily allocation.

Afterwards it adds `Sforce-Limit-Info: api-usage=n/max` (FACTS §2.10) and counts the call.
"""
from __future__ import annotations


from flask import Blueprint, Response, g, request

from crm_sandbox import clock, runtime
from crm_sandbox.salesforce import auth, errors

CRM = "salesforce"
MIN_VERSION, MAX_VERSION = 31, 68


def install(bp: Blueprint, *, authenticated: bool = True) -> None:
    bp.before_request(_before_authenticated if authenticated else _before_open)
    bp.after_request(_after)


def _faults() -> Response | None:
    # Salesforce has no 429: a throttled org answers 403 REQUEST_LIMIT_EXCEEDED (FACTS §2.10).
    return runtime.apply_faults(CRM, lambda: errors.request_limit().response(),
                                lambda s: errors.injected_failure(s).response())


def _before_open() -> Response | None:
    return _faults()


def _before_authenticated() -> Response | None:
    failure = _faults()
    if failure is not None:
        return failure
    version = (request.view_args or {}).get("version", "")
    number = _version_number(version)
    if number is None or number > MAX_VERSION:
        return errors.not_found().response()
    if number < MIN_VERSION:
        return errors.SalesforceError(410, "API_VERSION_RETIRED",
                                      f"API version {version} is retired").response()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    extras = runtime.crm(CRM).extras
    token = token.strip()
    if scheme.lower() not in ("bearer", "oauth") or token in extras.get("revoked_sessions", ()) or \
            not auth.session_valid(runtime.sandbox().settings, token, extras.get("sessions_not_before_ms", 0)):
        return errors.invalid_session().response()
    daily = runtime.crm(CRM).limits.daily
    accepted, _ = daily.acquire()
    g.salesforce_usage = True
    if not accepted:
        return errors.request_limit().response()
    return None


def version_at_least(version: str, number: int) -> bool:
    """Resources that appeared in a later API version (collections upsert: 46.0, FACTS §2.4)."""
    found = _version_number(version)
    return found is not None and found >= number


def _version_number(version: str) -> int | None:
    if not version.startswith("v") or not version.endswith(".0") or not version[1:-2].isdigit():
        return None
    return int(version[1:-2])


def _after(response: Response) -> Response:
    if g.pop("salesforce_usage", False):
        daily = runtime.crm(CRM).limits.daily
        response.headers["Sforce-Limit-Info"] = f"api-usage={daily.used}/{daily.max}"
    return runtime.count(CRM, response)


def expire_sessions(token: str | None = None) -> None:
    """Every token issued so far (or just `token`) answers INVALID_SESSION_ID from now on."""
    extras = runtime.crm(CRM).extras
    if token:
        extras.setdefault("revoked_sessions", set()).add(token)
    else:
        extras["sessions_not_before_ms"] = clock.now_ms() + 1
