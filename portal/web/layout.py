"""The base layout's links, built once per process: every signed-in page draws the same navigation.

`url_for` costs about 25-30 µs a link (werkzeug's MapAdapter.build), and the layout has a dozen or so.
A link to an endpoint with fixed arguments (or none) is the same on every request that shares a script
root, so it is kept per (endpoint, arguments, script root). Only relative links: an absolute one would
also depend on the host asked for. Not in the read cache: no stored data changes these.
"""
from __future__ import annotations

from functools import lru_cache

from flask import request, url_for


def layout_url(endpoint: str, **values: str) -> str:
    """`url_for(endpoint, **values)` for the layout's fixed links, remembered for the process."""
    return _built(endpoint, request.script_root, tuple(sorted(values.items())))


# The script root comes from the request (a trusted proxy's prefix), so the memo is bounded.
@lru_cache(maxsize=512)
def _built(endpoint: str, script_root: str, values: tuple[tuple[str, str], ...]) -> str:
    # script_root is in the key only: url_for reads it from the request being served.
    return url_for(endpoint, **dict(values))
