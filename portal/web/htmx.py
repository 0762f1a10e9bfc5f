"""One URL answers with a whole page or its fragment, depending on what htmx asked (STYLE.md §4)."""
from __future__ import annotations

from flask import Response, make_response, redirect as flask_redirect, render_template, request


def is_fragment_request() -> bool:
    # Boosted links and history restores need the whole page even though htmx sent them.
    headers = request.headers
    return (
        "HX-Request" in headers
        and "HX-Boosted" not in headers
        and "HX-History-Restore-Request" not in headers
    )


def render_page(page_template: str, partial_template: str, /, **context) -> Response:
    template = partial_template if is_fragment_request() else page_template
    return varying(render_template(template, **context))


def varying(body: str) -> Response:
    """A response whose body depends on whether htmx asked for a fragment: caches must key on that.
    For a view that has its fragment already rendered (a cached section) and builds the page only
    when the whole page is asked for."""
    response = make_response(body)
    response.headers.add("Vary", "HX-Request")
    return response


def redirect(location: str) -> Response:
    """Move the user on after a post: HX-Location for htmx, 303 See Other for a plain form."""
    if "HX-Request" in request.headers:
        response = make_response("", 200)
        response.headers["HX-Location"] = location
        return response
    return flask_redirect(location, code=303)


def trigger(response: Response, event: str) -> Response:
    response.headers["HX-Trigger"] = event
    return response
