"""Request limits as the CRMs publish them: rolling windows and a daily allocation."""
from __future__ import annotations

import threading
from collections import deque

from crm_sandbox import clock


class RollingWindow:
    """At most `max` accepted requests in any `seconds`-long window; rejected ones do not count."""

    def __init__(self, max_requests: int, seconds: float):
        self.max = max_requests
        self.seconds = seconds
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> tuple[bool, int]:
        """(accepted, remaining after this request)."""
        now = clock.monotonic()
        with self._lock:
            while self._hits and self._hits[0] <= now - self.seconds:
                self._hits.popleft()
            if len(self._hits) >= self.max:
                return False, 0
            self._hits.append(now)
            return True, self.max - len(self._hits)


class DailyAllocation:
    """A counter that starts over every 24 hours from the first request (a rolling day, simplified)."""

    def __init__(self, max_requests: int):
        self.max = max_requests
        self.used = 0
        self._started = clock.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> tuple[bool, int]:
        """(accepted, used after this request)."""
        with self._lock:
            if clock.monotonic() - self._started >= 86_400:
                self.used, self._started = 0, clock.monotonic()
            if self.used >= self.max:
                return False, self.used
            self.used += 1
            return True, self.used

    @property
    def remaining(self) -> int:
        return max(0, self.max - self.used)


class HubSpotLimits:
    """Per-token 10-second burst, per-account daily allocation, and the separate search bucket."""

    INTERVAL_MS = 10_000

    def __init__(self, burst: int, daily: int, search_per_second: int):
        self.configure(burst=burst, daily=daily, search_per_second=search_per_second)

    def configure(self, *, burst: int | None = None, daily: int | None = None,
                  search_per_second: int | None = None) -> None:
        if burst is not None:
            self.burst = int(burst)
            self._windows: dict[str, RollingWindow] = {}
            self._windows_lock = threading.Lock()
        if daily is not None:
            self.daily = DailyAllocation(int(daily))
        if search_per_second is not None:
            self.search = RollingWindow(int(search_per_second), 1.0)

    def window_for(self, token: str) -> RollingWindow:
        with self._windows_lock:
            window = self._windows.get(token)
            if window is None:
                window = self._windows[token] = RollingWindow(self.burst, self.INTERVAL_MS / 1000)
            return window

    def snapshot(self) -> dict:
        return {"burst": self.burst, "interval_ms": self.INTERVAL_MS, "daily": self.daily.max,
                "daily_used": self.daily.used, "search_per_second": self.search.max}


class SalesforceLimits:
    """The org's daily API request allocation (FACTS §2.10); Salesforce has no per-second limit."""

    def __init__(self, daily: int):
        self.configure(daily=daily)

    def configure(self, *, daily: int | None = None) -> None:
        if daily is not None:
            self.daily = DailyAllocation(int(daily))

    def snapshot(self) -> dict:
        return {"daily": self.daily.max, "daily_used": self.daily.used}
