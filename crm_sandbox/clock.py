"""Time as the CRMs write it: HubSpot in ISO-8601 with milliseconds and Z, Salesforce with +0000.

Each sandbox app has a movable clock: `POST /_admin/clock {"advance_seconds": n}` moves it forward
(modification stamps, token lifetimes, the 24-hour allocations, forced throttling and date
literals all read it), so tests move time instead of sleeping. Outside a request it is real time.
"""
from __future__ import annotations

import re
import time
from datetime import date, datetime, timezone

from flask import current_app, has_app_context


def offset_ms() -> int:
    if not has_app_context():
        return 0
    sandbox = current_app.extensions.get("crm_sandbox")
    return sandbox.clock_offset_ms if sandbox is not None else 0


def now_ms() -> int:
    return int(time.time() * 1000) + offset_ms()


def now_s() -> float:
    return time.time() + offset_ms() / 1000


def monotonic() -> float:
    """time.monotonic() moved by the same offset (rolling windows, forced throttling)."""
    return time.monotonic() + offset_ms() / 1000


def today() -> date:
    return datetime.fromtimestamp(now_ms() / 1000, tz=timezone.utc).date()


def hubspot_iso(ms: int) -> str:
    stamp = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def salesforce_datetime(ms: int) -> str:
    stamp = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}+0000"


def today_iso() -> str:
    return today().isoformat()


_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")


def parse_datetime_ms(value: str) -> int | None:
    """ISO-8601 date or datetime (Z, +00:00 or +0000) or epoch milliseconds → ms; None if neither."""
    text = str(value).strip()
    if not text:
        return None
    if text.lstrip("-").isdigit():
        return int(text)
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
        return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000)
    text = text.replace("Z", "+00:00").replace("z", "+00:00")
    text = _OFFSET.sub(r"\1:\2", text)
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return int(stamp.timestamp() * 1000)
