"""Fault injection and request counters, shared by every request of one sandbox process.

Faults simulate the infrastructure in front of a CRM (overloaded load balancers, slow links,
throttling), so they apply only to API paths and are decided before authentication.
"""
from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass

from crm_sandbox import clock


@dataclass(frozen=True)
class Decision:
    """What the fault switches make of one API request."""
    latency_s: float = 0.0
    fail_status: int | None = None
    rate_limited: bool = False


class Faults:
    """Switches set through `POST /_admin/faults`; thread-safe."""

    FIELDS = ("fail_next", "status", "fail_ratio", "latency_ms", "force_429_seconds")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._random = random.Random()
        self.clear()

    def clear(self) -> None:
        with getattr(self, "_lock", threading.Lock()):
            self.fail_next = 0
            self.status = 503
            self.fail_ratio = 0.0
            self.latency_ms = 0
            self.rate_limited_until = 0.0

    def configure(self, settings: dict) -> dict:
        """Apply the given switches (others keep their value); raise ValueError on bad input."""
        unknown = set(settings) - set(self.FIELDS)
        if unknown:
            raise ValueError(f"unknown fault switches: {sorted(unknown)}")
        status = int(settings.get("status", self.status))
        if not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        ratio = float(settings.get("fail_ratio", self.fail_ratio))
        if not 0.0 <= ratio <= 1.0:
            raise ValueError("fail_ratio must be between 0 and 1")
        fail_next = int(settings.get("fail_next", self.fail_next))
        latency_ms = int(settings.get("latency_ms", self.latency_ms))
        if fail_next < 0 or latency_ms < 0:
            raise ValueError("fail_next and latency_ms must not be negative")
        with self._lock:
            self.status, self.fail_ratio = status, ratio
            self.fail_next, self.latency_ms = fail_next, latency_ms
            if "force_429_seconds" in settings:
                seconds = float(settings["force_429_seconds"])
                self.rate_limited_until = clock.monotonic() + seconds if seconds > 0 else 0.0
        return self.snapshot()

    def snapshot(self) -> dict:
        with self._lock:
            left = max(0.0, self.rate_limited_until - clock.monotonic())
            return {"fail_next": self.fail_next, "status": self.status,
                    "fail_ratio": self.fail_ratio, "latency_ms": self.latency_ms,
                    "force_429_seconds": round(left, 3)}

    def decide(self) -> Decision:
        with self._lock:
            latency = self.latency_ms / 1000
            if clock.monotonic() < self.rate_limited_until:
                return Decision(latency, rate_limited=True)
            if self.fail_next > 0:
                self.fail_next -= 1
                return Decision(latency, fail_status=self.status)
            if self.fail_ratio and self._random.random() < self.fail_ratio:
                return Decision(latency, fail_status=self.status)
            return Decision(latency)


class Counters:
    """API calls by endpoint and by status, so a test or benchmark can count a sync's calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with getattr(self, "_lock", threading.Lock()):
            self.by_endpoint: Counter[str] = Counter()
            self.by_status: Counter[str] = Counter()
            self.total = 0

    def record(self, endpoint: str, status: int) -> None:
        with self._lock:
            self.total += 1
            self.by_endpoint[endpoint] += 1
            self.by_status[str(status)] += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {"total": self.total,
                    "endpoints": dict(sorted(self.by_endpoint.items())),
                    "statuses": dict(sorted(self.by_status.items()))}
