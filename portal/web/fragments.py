"""Rendered sections of a page kept in the read cache (services/read_cache.py) behind the stamp of
the area they are drawn from: the dashboards' activity chart costs more to render than to count.

A section cached here may show only what its key names (a scope, a range, a day), never the signed-in
user, a form's token or a flash message. Its links are relative to the script root, which is part
of the key.
"""
from __future__ import annotations

from typing import Callable

from flask import request
from markupsafe import Markup

from portal.services import read_cache


def cached(area: str, key: str, render: Callable[[], str]) -> Markup:
    """`render()`'s HTML for `key`, rendered again only once `area` has changed."""
    return read_cache.cached(area, f"fragment:{request.script_root}:{key}", lambda: Markup(render()))
