"""UTC datetimes: stored naive UTC, returned aware; naive input is refused."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from portal.models.types import UTCDateTime


def test_aware_datetimes_are_stored_as_utc():
    plus_two = timezone(timedelta(hours=2))
    stored = UTCDateTime().process_bind_param(datetime(2026, 1, 1, 12, 0, tzinfo=plus_two), None)
    assert stored == datetime(2026, 1, 1, 10, 0)


def test_values_come_back_aware_in_utc():
    value = UTCDateTime().process_result_value(datetime(2026, 1, 1, 10, 0), None)
    assert value.tzinfo is timezone.utc


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), None)
