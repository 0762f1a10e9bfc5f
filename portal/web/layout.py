"""The base layout's links, built once per process: every signed-in page draws the same navigation.

`url_for` costs about 25-30 µs a link (werkzeug's MapAdapter.build), and the layout has a dozen or so.
A link to an endpoint with fixed arguments (or none) is the same on every request that shares a script
root, so it is kept per (endpoint, arguments, script root). Only relative links: an absolute one would
also depend on the host asked for.
"""
from __future__ import annotations

from flask import request, url_for

# The script root comes from the request (a trusted proxy's prefix), so the memo is bounded.
_LIMIT = 512
_built: dict[tuple, str] = {}


def layout_url(endpoint: str, **values: str) -> str:
    """`url_for(endpoint, **values)` for the layout's fixed links, remembered for the process."""
    key = (endpoint, request.script_root, *sorted(values.items()))
    url = _built.get(key)
    if url is None:
        if len(_built) >= _LIMIT:
            _built.clear()
        url = _built[key] = url_for(endpoint, **values)
    return url
