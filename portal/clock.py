"""The portal's one clock: every "what time is it" in the product asks here.

Tests move it (`advance`, `freeze`) instead of sleeping; production never touches the offset.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

_offset = timedelta(0)
_frozen: datetime | None = None


def now() -> datetime:
    """The current time, aware, in UTC."""
    return _frozen if _frozen is not None else datetime.now(timezone.utc) + _offset


def timestamp() -> float:
    """Seconds since the epoch, for signed tokens and anything else that stores a float time."""
    return now().timestamp()


def advance(delta: timedelta | float) -> None:
    """Move time forward (a frozen clock moves with it)."""
    global _offset, _frozen
    delta = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
    if _frozen is not None:
        _frozen += delta
    else:
        _offset += delta


def freeze(at: datetime | None = None) -> datetime:
    """Stop the clock at `at` (default: now) until `reset()`."""
    global _frozen
    _frozen = at or now()
    return _frozen


def reset() -> None:
    global _offset, _frozen
    _offset, _frozen = timedelta(0), None
