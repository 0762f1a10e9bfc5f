"""HTTP for the CRM connectors: one session per connection, timeouts, retries, rate limits.

Every transport or HTTP failure leaves this module as one `CrmError(status, message, retryable)`
(STYLE.md §10); connectors never see a `requests` exception.

- 5xx, 423 (locked, "wait at least 2 s"), 477 and network errors: retried with exponential backoff
  and jitter, a bounded number of times.
- 429: honoured, not counted as a failure: `Retry-After` when present, else the policy in the body
  (FACTS §1.10: HubSpot's 429 carries no Retry-After; `TEN_SECONDLY_ROLLING` frees within the
  10-second window, search's `SECONDLY` within a second).
- A request budget per connection: a client-side rolling window sized from the
  `X-HubSpot-RateLimit-Max` / `-Interval-Milliseconds` headers, so a big push paces itself instead
  of running into 429s; search has its own bucket (5 requests per second, no headers).
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import requests

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = {423, 477, 500, 502, 503, 504, 521, 523, 524}


class CrmError(Exception):
    """A CRM call failed: `status` (None for network errors), the CRM's message, whether a retry may help."""

    def __init__(self, status: int | None, message: str, retryable: bool, *, category: str | None = None,
                 body: dict | None = None):
        super().__init__(f"{status or 'network'}: {message}")
        self.status = status
        self.message = message
        self.retryable = retryable
        self.category = category
        self.body = body or {}


class RollingBudget:
    """At most `max_requests` per `seconds`, counted from when each answer arrived (so the CRM,
    which counts on arrival, never sees more in any of its windows)."""

    def __init__(self, max_requests: int, seconds: float):
        self.max_requests, self.seconds = max_requests, seconds
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def wait_time(self) -> float:
        now = time.monotonic()
        with self._lock:
            while self._hits and self._hits[0] <= now - self.seconds:
                self._hits.popleft()
            if len(self._hits) < self.max_requests:
                return 0.0
            return self._hits[len(self._hits) - self.max_requests] + self.seconds - now + 0.02

    def record(self) -> None:
        with self._lock:
            self._hits.append(time.monotonic())

    def resize(self, max_requests: int, seconds: float) -> None:
        with self._lock:
            self.max_requests, self.seconds = max_requests, seconds


# Budgets outlive one job: consecutive pushes of a connection in one worker share its window.
_BUDGETS: dict[tuple, RollingBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def budget(key: tuple, max_requests: int, seconds: float) -> RollingBudget:
    with _BUDGETS_LOCK:
        found = _BUDGETS.get(key)
        if found is None:
            found = _BUDGETS[key] = RollingBudget(max_requests, seconds)
        return found


@dataclass
class CallEvent:
    """What a hook hears about each answer: for the integration log and the benchmark's counts."""

    method: str
    path: str
    status: int | None
    message: str
    retrying: bool
    seconds: float


@dataclass
class Client:
    base_url: str
    token: str
    budget_key: tuple = ()
    burst: int = 100
    burst_seconds: float = 10.0
    search_per_second: int = 5
    timeout: tuple[float, float] = (5.0, 30.0)
    max_retries: int = 6
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    max_wait_seconds: float = 600.0   # the most one call may spend waiting on 429s and retries
    on_event: Callable[[CallEvent], None] | None = None
    sleep: Callable[[float], None] = time.sleep
    session: requests.Session = field(default_factory=requests.Session)
    calls: int = 0

    def __post_init__(self):
        self.base_url = self.base_url.rstrip("/")
        self.session.headers.update({"Authorization": f"Bearer {self.token}", "Accept": "application/json"})
        key = self.budget_key or (self.base_url, self.token[-8:])
        self._burst = budget(key + ("burst",), self.burst, self.burst_seconds)
        self._search = budget(key + ("search",), self.search_per_second, 1.0)

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)

    def request(self, method: str, path: str, *, json=None, params=None, search: bool = False):
        """Send one call, retrying what may succeed later; returns the parsed JSON (None for 204)."""
        bucket = self._search if search else self._burst
        attempt, waited = 0, 0.0
        while True:
            pause = bucket.wait_time()
            if pause > 0:
                self.sleep(pause)
            started = time.monotonic()
            try:
                response = self.session.request(method, self.base_url + path, json=json, params=params,
                                                timeout=self.timeout)
            except requests.RequestException as err:
                bucket.record()
                error = CrmError(None, f"{type(err).__name__}: {err}", retryable=True)
                delay = self._backoff(attempt)
            else:
                bucket.record()
                self.calls += 1
                if not search:
                    self._learn_limits(response)
                if response.status_code < 400:
                    self._emit(method, path, response.status_code, "ok", False, started)
                    return response.json() if response.content else None
                error = _error_from(response)
                if response.status_code == 429:
                    delay = self._rate_limit_delay(response, error, search)
                    attempt -= 1  # honouring a rate limit is not a failed attempt
                elif error.retryable:
                    delay = max(self._backoff(attempt), _retry_after(response) or 0,
                                2.0 if response.status_code == 423 else 0)
                else:
                    self._emit(method, path, response.status_code, error.message, False, started)
                    raise error
            attempt += 1
            retrying = attempt <= self.max_retries and waited + delay <= self.max_wait_seconds
            self._emit(method, path, error.status, error.message, retrying, started)
            if not retrying:
                raise error
            log.info("CRM %s %s -> %s; retrying in %.1fs", method, path, error.status, delay)
            self.sleep(delay)
            waited += delay

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_cap, self.backoff_base * 2 ** attempt) * (0.5 + random.random() / 2)

    def _rate_limit_delay(self, response, error: CrmError, search: bool) -> float:
        after = _retry_after(response)
        if after is not None:
            return after
        policy = error.body.get("policyName", "")
        if search or policy == "SECONDLY":
            return 1.0 + random.random() * 0.2
        if policy == "DAILY":
            # Not worth waiting for in a job: let it fail as retryable, RQ tries again later.
            error.retryable = True
            return self.max_wait_seconds + 1
        interval = _int_header(response, "X-HubSpot-RateLimit-Interval-Milliseconds") or 10_000
        # The rolling window frees as the oldest calls age out; wait for part of it, then try again.
        return max(1.0, interval / 1000 / 4) * (0.8 + random.random() * 0.4)

    def _learn_limits(self, response) -> None:
        maximum = _int_header(response, "X-HubSpot-RateLimit-Max")
        interval = _int_header(response, "X-HubSpot-RateLimit-Interval-Milliseconds")
        if maximum and interval and (maximum != self._burst.max_requests
                                     or interval / 1000 != self._burst.seconds):
            self._burst.resize(maximum, interval / 1000)

    def _emit(self, method, path, status, message, retrying, started) -> None:
        if self.on_event is not None:
            self.on_event(CallEvent(method, path, status, message, retrying, time.monotonic() - started))


def _int_header(response, name: str) -> int | None:
    try:
        return int(response.headers.get(name, ""))
    except ValueError:
        return None


def _retry_after(response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _error_from(response) -> CrmError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {"errors": body}
    message = body.get("message") or response.reason or f"HTTP {response.status_code}"
    status = response.status_code
    return CrmError(status, str(message)[:2000], retryable=status in RETRYABLE_STATUSES or status == 429,
                    category=body.get("category"), body=body)
