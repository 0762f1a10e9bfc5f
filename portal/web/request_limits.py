"""How large a request body may be: MAX_CONTENT_LENGTH for every route, more only where a route says so.

The limit must be known before anything reads the body, and CSRFProtect reads the form in its own
before_request hook; so `register` is called before CSRFProtect is bound, and a route's own allowance
is set on the request in that first hook. A body over the limit is refused from its Content-Length
(or, streamed without one, as soon as it passes the limit), never read into memory.
"""
from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

_ATTRIBUTE = "max_body_bytes"


def allow_body(max_bytes: int):
    """Let one view accept bodies up to `max_bytes` (e.g. a logo upload)."""

    def decorator(view):
        setattr(view, _ATTRIBUTE, max_bytes)
        return view

    return decorator


def register(app: Flask) -> None:
    @app.before_request
    def _route_allowance():
        view = current_app.view_functions.get(request.endpoint or "")
        allowance = getattr(view, _ATTRIBUTE, None)
        if allowance is not None:
            request.max_content_length = allowance


def trust_proxies(app: Flask) -> None:
    """Believe the X-Forwarded-* headers of the TRUSTED_PROXIES proxies in front of the portal."""
    proxies = app.config.get("TRUSTED_PROXIES", 0)
    if proxies:
        # Only the last `proxies` hops' X-Forwarded-* headers are believed: a client cannot choose its
        # own address for the rate limits and the logs by sending the header itself.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies)
