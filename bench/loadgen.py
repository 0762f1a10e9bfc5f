"""Closed-loop HTTP load from one process: a thread per client, each with its own keep-alive
connection and cookies, sending its next request as soon as the previous one is answered.

portal_load.py runs it as a process of its own, so the clients' threads contend for no GIL but
their own. It reads a JSON spec on stdin and writes JSON results on stdout
(progress goes to stderr), so it can also drive a portal that is already running:

    echo '{"base_url": "http://127.0.0.1:5000", "clients": 20, "warmup": 2, "seconds": 10, "rounds": 2,
           "scenarios": ["healthz", "dashboard"], "seed": {"bench_run": "…", "users": "50"}}' \
      | .venv/bin/python bench/loadgen.py
"""
from __future__ import annotations

import functools
import http.client
import json
import math
import re
import resource
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlencode, urlsplit

import flask

import scenarios

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from portal.blueprints.public import forms as public_forms  # noqa: E402

TIMEOUT_SECONDS = 30
# Later rounds of a scenario only need the connections re-opened and the worker threads busy again.
REWARM_SECONDS = 0.5
CSRF_INPUT = re.compile(r'<input[^>]*\bname="csrf_token"[^>]*>')
VALUE_ATTRIBUTE = re.compile(r'\bvalue="([^"]*)"')
TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)
TRANSPORT_ERRORS = (OSError, http.client.HTTPException)


class Client:
    """One simulated user: a persistent connection and a cookie jar."""

    def __init__(self, host: str, port: int, index: int):
        self.host, self.port = host, port
        self.index = index
        self._cookies: dict[str, str] = {}
        self._cookie_header = ""
        self._conn: http.client.HTTPConnection | None = None

    def send(self, method: str, path: str,
             form: dict[str, str] | None = None) -> tuple[int, bytes, http.client.HTTPMessage]:
        headers = {"User-Agent": "portal-bench"}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self._cookie_header:
            headers["Cookie"] = self._cookie_header
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT_SECONDS)
        try:
            self._conn.request(method, path, body=body, headers=headers)
            response = self._conn.getresponse()
            data = response.read()
        except TRANSPORT_ERRORS:
            self.close()
            raise
        for raw in response.msg.get_all("Set-Cookie") or ():
            self._keep_cookie(raw)
        if response.will_close:
            self.close()
        return response.status, data, response.msg

    def csrf_token(self, path: str) -> str:
        """GET a page with a form and return its CSRF token (the session cookie comes with it)."""
        status, body, _ = self.send("GET", path)
        match = CSRF_INPUT.search(body.decode("utf-8", "replace"))
        value = VALUE_ATTRIBUTE.search(match.group(0)) if match else None
        if status != 200 or value is None:
            raise RuntimeError(f"GET {path} answered {status} without a csrf_token input")
        return value.group(1)

    def sign_in(self, email: str, password: str) -> None:
        token = self.csrf_token("/login")
        status, body, headers = self.send("POST", "/login", {"email": email, "password": password, "csrf_token": token})
        if status != 303:
            raise RuntimeError(f"signing in as {email} answered {status}, not 303: {_excerpt(body)}")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _keep_cookie(self, raw: str) -> None:
        try:
            jar = SimpleCookie(raw)
        except CookieError:
            return
        for name, morsel in jar.items():
            expired = morsel["max-age"] == "0" or morsel["expires"].endswith("1970 00:00:00 GMT")
            if expired or morsel.value == "":
                self._cookies.pop(name, None)
            else:
                self._cookies[name] = morsel.value
        self._cookie_header = "; ".join(f"{name}={value}" for name, value in self._cookies.items())


def _excerpt(body: bytes | str, size: int = 160) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    title = TITLE.search(text)
    return " ".join((title.group(1) if title else text).split())[:size]


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: a value that was really observed, never an interpolation."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def signed_in_clients(base_url: str, count: int, pool: str | None, seed: dict[str, str]) -> list[Client]:
    parts = urlsplit(base_url)
    clients = [Client(parts.hostname, parts.port or 80, i) for i in range(count)]
    if pool is None:
        return clients
    emails = scenarios.POOLS[pool](seed)
    if not emails:
        raise RuntimeError(f"the seed has no users for pool {pool!r}")
    # A few at a time: each sign-in hashes a password, and the server has only two workers.
    with ThreadPoolExecutor(max_workers=4) as executor:
        list(executor.map(lambda c: c.sign_in(emails[c.index % len(emails)], scenarios.BENCH_PASSWORD), clients))
    print(f"  {count} clients signed in from pool {pool!r} ({min(count, len(emails))} distinct users)", file=sys.stderr)
    return clients


class Context:
    """What a scenario's functions see of one client: its number, its request count, its state."""

    def __init__(self, client: Client, seed: dict[str, str]):
        self.client = client
        self.index = client.index
        self.seed = seed
        self.n = 0
        self.state: dict = {}

    def csrf_token(self, path: str) -> str:
        return self.client.csrf_token(path)

    def form_token(self, scope: str) -> str:
        with _token_app().app_context():
            return public_forms.issue_token(scope)


@functools.cache
def _token_app():
    """A bare Flask app with the portal's secret key: the product's own issue_token signs with it."""
    app = flask.Flask("bench-form-tokens")
    app.config["SECRET_KEY"] = scenarios.BENCH_SECRET_KEY
    return app


@dataclass
class Window:
    """What one measured window of one scenario observed."""
    latencies: list[float]
    statuses: Counter
    warmup_answers: int
    warmup_failures: int
    examples: list[str]
    seconds: float
    cpu_seconds: float


def run_window(scenario: scenarios.Scenario, contexts: list[Context], warmup: float, seconds: float) -> Window:
    for context in contexts:
        # A keep-alive connection left idle while other scenarios ran may have been closed by
        # gunicorn; a fresh one costs a local connect, a stale one would count as a failure.
        context.client.close()

    window = {}

    def open_window():
        window["from"] = time.perf_counter() + warmup
        window["until"] = window["from"] + seconds

    barrier = threading.Barrier(len(contexts), action=open_window)
    results: list = [None] * len(contexts)

    def drive(context: Context) -> None:
        latencies: list[float] = []
        statuses: Counter = Counter()
        warmup_answers = warmup_failures = 0
        examples: list[str] = []
        barrier.wait()
        measure_from, until = window["from"], window["until"]
        while True:
            method, path, form = scenario.request(context)
            started = time.perf_counter()
            try:
                status, body, headers = context.client.send(method, path, form)
                failure = None if scenario.ok(status) else f"{status} {headers.get('Location') or _excerpt(body)}"
            except TRANSPORT_ERRORS as err:
                status, failure = 0, f"{type(err).__name__}: {err}"
            finished = time.perf_counter()
            context.n += 1
            # Only answers inside the window count, so requests/s is answers over its length.
            if finished >= until:
                break
            if failure is not None and len(examples) < 3:
                examples.append(f"{method} {path} -> {failure}")
            if finished < measure_from:
                warmup_answers += 1
                warmup_failures += failure is not None
                continue
            latencies.append(finished - started)
            statuses[status] += 1
        results[context.index] = (latencies, statuses, warmup_answers, warmup_failures, examples)

    cpu_before = _cpu_seconds()
    threads = [threading.Thread(target=drive, args=(context,), name=f"client-{context.index}") for context in contexts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Window(latencies=[value for r in results for value in r[0]],
                  statuses=sum((r[1] for r in results), Counter()),
                  warmup_answers=sum(r[2] for r in results),
                  warmup_failures=sum(r[3] for r in results),
                  examples=[example for r in results for example in r[4]],
                  seconds=seconds, cpu_seconds=_cpu_seconds() - cpu_before)


def summarize(scenario: scenarios.Scenario, windows: list[Window]) -> dict:
    latencies = sorted(value for w in windows for value in w.latencies)
    statuses = sum((w.statuses for w in windows), Counter())
    seconds = sum(w.seconds for w in windows)
    # Failures during the warm-up count too: a page that fails only when cold still fails.
    errors = sum(count for status, count in statuses.items() if not scenario.ok(status))
    errors += sum(w.warmup_failures for w in windows)
    return {
        "name": scenario.name,
        "requests": len(latencies),
        "answers": len(latencies) + sum(w.warmup_answers for w in windows),
        "rps": len(latencies) / seconds,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] * 1000) if latencies else math.nan,
        "errors": errors,
        "statuses": {str(status): count for status, count in sorted(statuses.items())},
        "examples": list(dict.fromkeys(example for w in windows for example in w.examples))[:5],
        "rounds_rps": [round(len(w.latencies) / w.seconds, 1) for w in windows],
        # Share of one core the generator itself used: near 1.0 its GIL, not the server, is the limit.
        "loadgen_cpu": sum(w.cpu_seconds for w in windows) / seconds,
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    spec = json.load(sys.stdin)
    seed = {key: str(value) for key, value in spec.get("seed", {}).items()}
    rounds = max(1, int(spec.get("rounds", 1)))
    chosen = [scenarios.BY_NAME[name] for name in spec["scenarios"]]
    clients_by_pool: dict[str | None, list[Client]] = {}
    contexts: dict[str, list[Context]] = {}
    windows: dict[str, list[Window]] = {scenario.name: [] for scenario in chosen}
    # Rounds interleave the scenarios, so a burst of load from elsewhere on the machine lowers
    # healthz and the pages alike instead of skewing their ratio.
    for number in range(rounds):
        for scenario in chosen:
            warmup = spec["warmup"]
            if scenario.name not in contexts:
                if scenario.auth not in clients_by_pool:
                    clients_by_pool[scenario.auth] = signed_in_clients(spec["base_url"], spec["clients"],
                                                                       scenario.auth, seed)
                contexts[scenario.name] = [Context(client, seed) for client in clients_by_pool[scenario.auth]]
                if scenario.setup is not None:
                    for context in contexts[scenario.name]:
                        # As in run_window: gunicorn may have closed a connection left idle meanwhile.
                        context.client.close()
                        scenario.setup(context)
            else:
                warmup = min(warmup, REWARM_SECONDS)
            seconds = spec["seconds"] / rounds
            print(f"  {scenario.name}: round {number + 1}/{rounds}, {warmup:g} s warm-up + {seconds:g} s",
                  file=sys.stderr)
            windows[scenario.name].append(run_window(scenario, contexts[scenario.name], warmup, seconds))
    for clients in clients_by_pool.values():
        for client in clients:
            client.close()
    json.dump([summarize(scenario, windows[scenario.name]) for scenario in chosen], sys.stdout)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, *TRANSPORT_ERRORS) as err:
        print(f"loadgen: {type(err).__name__}: {err}", file=sys.stderr)
        sys.exit(2)
