"""What every HubSpot API request passes first: faults, the bearer token, the rate limits.

Afterwards it adds the `X-HubSpot-RateLimit-*` headers (FACTS §1.10; never on search answers)
and counts the call for `/_admin/stats`.
"""
from __future__ import annotations

import hmac

from flask import Blueprint, Response, g, request

from crm_sandbox import runtime
from crm_sandbox.hubspot import errors

CRM = "hubspot"


def install(bp: Blueprint) -> None:
    bp.before_request(_before)
    bp.after_request(_after)


def route(bp: Blueprint, legacy: str, dated: str | None = None, **options):
    """Serve one handler on the legacy `/crm/v3/...` path and the date-versioned 2026-03 path."""
    def decorator(view):
        bp.add_url_rule(legacy, view_func=view, **options)
        if dated:
            bp.add_url_rule(dated, view_func=view, endpoint=view.__name__ + "_dated", **options)
        return view
    return decorator


def _before() -> Response | None:
    failure = runtime.apply_faults(CRM, _forced_rate_limit, lambda s: errors.injected_failure(s).response())
    if failure is not None:
        return failure
    token = _bearer_token()
    expected = runtime.sandbox().settings["SANDBOX_HUBSPOT_TOKEN"]
    if not token or not hmac.compare_digest(token, expected):
        return errors.unauthenticated().response()
    return _take_rate_limit(token)


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _is_search() -> bool:
    return bool(request.url_rule) and request.url_rule.rule.endswith("/search")


def _take_rate_limit(token: str) -> Response | None:
    limits = runtime.crm(CRM).limits
    if _is_search():
        # Search has its own per-second bucket and is exempt from the ten-secondly one (FACTS §1.5).
        accepted, _ = limits.search.acquire()
        if not accepted:
            return errors.rate_limited("SECONDLY").response()
        accepted, _ = limits.daily.acquire()
        return None if accepted else errors.rate_limited("DAILY").response()
    window = limits.window_for(token)
    accepted, remaining = window.acquire()
    g.hubspot_rate = {"max": window.max, "remaining": remaining}
    if not accepted:
        return errors.rate_limited().response()
    accepted, _ = limits.daily.acquire()
    if not accepted:
        return errors.rate_limited("DAILY").response()
    return None


def _forced_rate_limit() -> Response:
    g.hubspot_rate = {"max": runtime.crm(CRM).limits.burst, "remaining": 0}
    return errors.rate_limited().response()


def _after(response: Response) -> Response:
    rate = g.pop("hubspot_rate", None)
    if rate is not None and not _is_search():
        limits = runtime.crm(CRM).limits
        response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = str(limits.INTERVAL_MS)
        response.headers["X-HubSpot-RateLimit-Max"] = str(rate["max"])
        response.headers["X-HubSpot-RateLimit-Remaining"] = str(rate["remaining"])
        response.headers["X-HubSpot-RateLimit-Daily"] = str(limits.daily.max)
        response.headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(limits.daily.remaining)
    return runtime.count(CRM, response)
