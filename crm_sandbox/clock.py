"""Time as the CRMs write it: HubSpot in ISO-8601 with milliseconds and Z, Salesforce with +0000."""
from __future__ import annotations

import re
import time
from datetime import date, datetime, timezone


def now_ms() -> int:
    return int(time.time() * 1000)


def hubspot_iso(ms: int) -> str:
    stamp = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def salesforce_datetime(ms: int) -> str:
    stamp = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}+0000"


def today_iso() -> str:
    return datetime.now(timezone.utc).date().isoformat()


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
