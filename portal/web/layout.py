"""Links built once per process: every signed-in page draws the same navigation, and a list draws
the same link for each of its rows but for the row's id.

`url_for` costs about 25-30 µs a link (werkzeug's MapAdapter.build): the layout has a dozen or so, a
queue page of 25 rows seventy-five. A link to an endpoint with fixed arguments (or none) is the same
on every request that shares a script root, so it is kept per (endpoint, arguments, script root); a
record's link is that same link with the record's id put in. Only relative links: an absolute one
would also depend on the host asked for. Not in the read cache: no stored data changes these.
"""
from __future__ import annotations

from functools import lru_cache

from flask import request, url_for

# A number no real link holds, put where a record's id goes and then cut out (one per id argument).
_HOLE = 9_007_199_254_740_000


def layout_url(endpoint: str, **values: str) -> str:
    """`url_for(endpoint, **values)` for the layout's fixed links, remembered for the process."""
    return _built(endpoint, request.script_root, tuple(sorted(values.items())))


def record_url(endpoint: str, **values) -> str:
    """`url_for(endpoint, **values)` for a row's link: its integer arguments (the record's id) vary,
    the others are fixed (an action's name); the link's shape is built once per process."""
    ids = tuple(sorted(name for name, value in values.items() if type(value) is int))
    fixed = tuple(sorted((name, value) for name, value in values.items() if name not in ids))
    first, rest = _shape(endpoint, request.script_root, ids, fixed)
    return first + "".join(f"{values[name]}{piece}" for name, piece in rest)


# The script root comes from the request (a trusted proxy's prefix), so the memo is bounded.
@lru_cache(maxsize=512)
def _built(endpoint: str, script_root: str, values: tuple[tuple[str, str], ...]) -> str:
    # script_root is in the key only: url_for reads it from the request being served.
    return url_for(endpoint, **dict(values))


@lru_cache(maxsize=512)
def _shape(endpoint: str, script_root: str, ids: tuple[str, ...],
           fixed: tuple[tuple[str, str], ...]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The link cut where the ids go: the piece before the first, then (id's name, piece after it)
    in the order the link holds them."""
    holes = {str(_HOLE + i): name for i, name in enumerate(ids)}
    url = url_for(endpoint, **dict(fixed), **{name: int(hole) for hole, name in holes.items()})
    found = sorted((url.find(hole), hole) for hole in holes)
    if any(at < 0 or url.count(hole) != 1 for at, hole in found):
        raise ValueError(f"{endpoint}: its link does not hold each of {', '.join(ids)} exactly once")
    ends = [at for at, _ in found] + [len(url)]
    rest = tuple((holes[hole], url[at + len(hole):ends[i + 1]]) for i, (at, hole) in enumerate(found))
    return url[:ends[0]], rest
