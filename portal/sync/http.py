"""HTTP for the CRM connectors: one session per connection, timeouts, retries, the request budget.

Every transport or HTTP failure leaves this module as one `CrmError(status, message, retryable)`
(STYLE.md §10); connectors never see a `requests` exception.

- 5xx, 423 (locked, "wait at least 2 s"), 477 and network errors: retried with exponential backoff
  and jitter, a bounded number of times.
- 429: honoured, not counted as a failure: `Retry-After` when present, else what the connector's
  `RateLimitPolicy` reads from the answer (a CRM may say which of its windows is full).
- The request budget: a moving window per CRM account (base URL and token) counted in the shared
  `limits` storage (Redis, or the embedded mode's fakeredis), so every worker process together stays
  under the CRM's limit instead of each of them having the whole of it. A connector's policy may
  resize it from the answers (some CRMs send their limit in headers). Buckets are separate windows
  (e.g. a CRM whose search endpoints have a limit of their own).
"""
from __future__ import annotations

import hashlib
import logging
import math
import random
import time
from dataclasses import dataclass, field
from typing import Callable

import requests
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter

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


class Budget:
    """At most `max_requests` per `seconds` for one key, in a shared moving window.

    A slot is taken just before the request leaves, and the CRM counts it when it arrives, a little
    later and by a varying delay; the margin keeps that jitter from ever making a 429 of our own.
    """

    def __init__(self, limiter: MovingWindowRateLimiter, key: str, max_requests: int, seconds: float):
        self._limiter, self.key = limiter, key
        self.resize(max_requests, seconds)

    def resize(self, max_requests: int, seconds: float) -> None:
        self.max_requests, self.seconds = max_requests, seconds
        allowed = max(1, max_requests - max(1, max_requests // 20))
        self._item = RateLimitItemPerSecond(allowed, max(1, math.ceil(seconds)))

    def acquire(self, sleep: Callable[[float], None]) -> float:
        """Take a slot, waiting for one to free if need be; returns the seconds waited."""
        waited = 0.0
        while not self._limiter.hit(self._item, self.key):
            reset = self._limiter.get_window_stats(self._item, self.key).reset_time
            pause = min(max(0.02, reset - time.time() + 0.02), self.seconds)
            sleep(pause)
            waited += pause
        return waited


class RateLimitPolicy:
    """What a CRM's answers say about its limits. This default knows only `Retry-After`."""

    def learn(self, response) -> tuple[int, float] | None:
        """(max requests, per seconds) announced by an answer, if the CRM sends them."""
        return None

    def delay_after_429(self, response, error: CrmError, bucket: str) -> float:
        """Seconds to wait after a 429 without Retry-After (past `Client.max_wait_seconds`: give up)."""
        return 1.0 + random.random()


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
    # bucket name -> (max requests, per seconds): "default" for every call, others by request(bucket=...)
    limits: dict[str, tuple[int, float]] = field(default_factory=lambda: {"default": (100, 10.0)})
    policy: RateLimitPolicy = field(default_factory=RateLimitPolicy)
    storage: Storage | None = None     # the shared budget storage; None: this process only
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
        limiter = MovingWindowRateLimiter(self.storage or _local_storage())
        # The CRM limits an account (its token), not a portal connection: two connections with one
        # token share one budget.
        account = hashlib.sha256(f"{self.base_url} {self.token}".encode()).hexdigest()[:16]
        self._budgets = {name: Budget(limiter, f"crm-budget:{account}:{name}", maximum, seconds)
                         for name, (maximum, seconds) in self.limits.items()}

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)

    def request(self, method: str, path: str, *, json=None, params=None, bucket: str = "default"):
        """Send one call, retrying what may succeed later; returns the parsed JSON (None for 204)."""
        budget = self._budgets.get(bucket) or self._budgets["default"]
        attempt, waited = 0, 0.0
        while True:
            budget.acquire(self.sleep)
            started = time.monotonic()
            try:
                response = self.session.request(method, self.base_url + path, json=json, params=params,
                                                timeout=self.timeout)
            except requests.RequestException as err:
                error = CrmError(None, _network_message(err), retryable=True)
                delay = self._backoff(attempt)
            else:
                self.calls += 1
                if bucket == "default":
                    self._learn_limits(response, budget)
                if response.status_code < 400:
                    self._emit(method, path, response.status_code, "ok", False, started)
                    return response.json() if response.content else None
                error = _error_from(response)
                if response.status_code == 429:
                    after = _retry_after(response)
                    delay = after if after is not None else self.policy.delay_after_429(response, error, bucket)
                    if delay > self.max_wait_seconds:
                        error.retryable = True  # not worth waiting for in a job: RQ tries again later
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

    def _learn_limits(self, response, budget: Budget) -> None:
        learned = self.policy.learn(response)
        if learned and learned != (budget.max_requests, budget.seconds):
            budget.resize(*learned)

    def _emit(self, method, path, status, message, retrying, started) -> None:
        if self.on_event is not None:
            self.on_event(CallEvent(method, path, status, message, retrying, time.monotonic() - started))


_LOCAL = MemoryStorage()


def _local_storage() -> Storage:
    return _LOCAL


def int_header(response, name: str) -> int | None:
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


def _network_message(err: requests.RequestException) -> str:
    """A transport failure in words a person can act on (the panel and the log show it)."""
    text = str(err)
    if isinstance(err, requests.Timeout):
        return "it did not answer in time (timeout)."
    if isinstance(err, requests.ConnectionError):
        if "Name or service not known" in text or "NameResolution" in text or "getaddrinfo" in text:
            return "its address could not be found (DNS)."
        if "refused" in text.lower():
            return "the connection was refused."
        return "the network failed on the way."
    return f"the request failed ({type(err).__name__})."


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
