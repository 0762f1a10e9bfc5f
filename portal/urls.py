"""Absolute links for mail and CRM records, built the same way in a request, a job or the CLI."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def absolute_url(endpoint: str, **values) -> str:
    """PUBLIC_BASE_URL + the route: a mail rendered by the worker links to the same host as a page."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, url_scheme=base.scheme, script_name=base.path or "/")
    return adapter.build(endpoint, values, force_external=True)


def path_for(endpoint: str, **values) -> str:
    """The route's path alone (for in-app links), outside a request as well as inside one."""
    return current_app.url_map.bind("localhost").build(endpoint, values)
