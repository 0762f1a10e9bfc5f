"""What one page costs the portal, in-process: Flask's test client, one thread, no network, no load.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/page_cost.py SEED_FILE [--repeat 40] [--profile NAME]

SEED_FILE holds the `name: value` lines `flask portal seed-bench` printed. For every scenario of
bench/scenarios.py (healthz first) it signs in as the scenario's pool does, runs its setup, warms
up, then times `--repeat` requests and prints one JSON object per line on stdout:
`{"name", "median_ms", "p90_ms", "queries", "errors"}`; `queries` is the SQL statements of one
request (the median). portal_load.py divides each median by healthz's: `<name>_cost_vs_healthz`,
a figure a busy machine moves far less than requests/s, because both sides slow down alike.

`--profile NAME` prints a cProfile of that scenario instead, grouped by where the time goes
(SQL driver, ORM, Jinja, session/login, CSRF/forms, the rest).
"""
from __future__ import annotations

import argparse
import os
import cProfile
import json
import pstats
import re
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import scenarios  # noqa: E402

CSRF_INPUT = re.compile(r'<input[^>]*\bname="csrf_token"[^>]*\bvalue="([^"]*)"')
WARMUP = 5


class Context:
    """What a scenario's functions see, for the test client (bench/loadgen.py has the HTTP one)."""

    def __init__(self, client, index: int, seed: dict[str, str]):
        self.client, self.index, self.seed, self.n, self.state = client, index, seed, 0, {}

    def csrf_token(self, path: str) -> str:
        response = self.client.get(path)
        match = CSRF_INPUT.search(response.get_data(as_text=True))
        if response.status_code != 200 or match is None:
            raise RuntimeError(f"GET {path} answered {response.status_code} without a csrf_token input")
        return match.group(1)

    def form_token(self, scope: str) -> str:
        from portal.blueprints.public import forms
        with self.client.application.app_context():
            return forms.issue_token(scope)

    def send(self, request: scenarios.Request):
        environ = {"REMOTE_ADDR": f"10.9.{self.index // 250}.{self.index % 250 + 1}"}
        headers = {"User-Agent": "portal-bench"}
        if request.method == "GET":
            return self.client.get(request.path, headers=headers, environ_base=environ)
        return self.client.post(request.path, data=request.form, headers=headers, environ_base=environ)


def signed_in(app, scenario: scenarios.Scenario, seed: dict[str, str]) -> Context:
    # A client number no load-generator client has (they count from 0), and another each run: the
    # prospects it submits are new people, not resubmissions the link answers without a referral.
    context = Context(app.test_client(), 1000 + os.getpid() % 100_000, seed)
    if scenario.auth is not None:
        email = scenarios.POOLS[scenario.auth](seed)[0]
        token = context.csrf_token("/login")
        response = context.client.post("/login", data={"email": email, "password": scenarios.BENCH_PASSWORD,
                                                       "csrf_token": token})
        if response.status_code != 303:
            raise RuntimeError(f"signing in as {email} answered {response.status_code}")
    if scenario.setup is not None:
        scenario.setup(context)
    return context


class QueryCounter:
    def __init__(self, engine):
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args):
        self.count += 1


def measure(app, scenario: scenarios.Scenario, seed: dict[str, str], repeat: int, counter: QueryCounter) -> dict:
    context = signed_in(app, scenario, seed)
    errors = 0
    for _ in range(WARMUP):
        errors += not scenario.ok(context.send(scenario.request(context)).status_code)
        context.n += 1
    times, queries = [], []
    for _ in range(repeat):
        request = scenario.request(context)
        before = counter.count
        started = time.perf_counter()
        response = context.send(request)
        times.append(time.perf_counter() - started)
        queries.append(counter.count - before)
        errors += not scenario.ok(response.status_code)
        context.n += 1
    times.sort()
    return {"name": scenario.name, "median_ms": statistics.median(times) * 1000,
            "p90_ms": times[int(0.9 * (len(times) - 1))] * 1000, "queries": statistics.median(queries),
            "errors": errors}


# Where a function's file says its time goes, first match wins.
BUCKETS = [
    ("SQL driver", ("psycopg", "sqlite3", "pysqlite")),
    ("ORM / SQL compile", ("sqlalchemy",)),
    ("Jinja", ("jinja2", "markupsafe", "/templates/")),
    ("session, login", ("flask_login", "itsdangerous", "flask/sessions")),
    ("CSRF, forms", ("flask_wtf", "wtforms")),
    ("rate limits", ("flask_limiter", "limits")),
    ("Redis", ("redis",)),
    ("Werkzeug, Flask", ("werkzeug", "flask")),
    ("portal", ("/portal/",)),
]


def profile(app, scenario: scenarios.Scenario, seed: dict[str, str], repeat: int) -> None:
    context = signed_in(app, scenario, seed)
    for _ in range(WARMUP):
        context.send(scenario.request(context))
        context.n += 1
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        context.send(scenario.request(context))
        context.n += 1
    profiler.disable()
    stats = pstats.Stats(profiler)
    totals: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        bucket = next((label for label, needles in BUCKETS if any(n in filename for n in needles)), "other")
        totals[bucket] = totals.get(bucket, 0.0) + tottime
    whole = sum(totals.values())
    print(f"{scenario.name}: {whole / repeat * 1000:.2f} ms per request under the profiler")
    for label, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"  {label:<20} {seconds / repeat * 1000:7.2f} ms  {seconds / whole:5.1%}")
    stats.sort_stats("cumulative").print_stats(r"portal/", 25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seed_file")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--profile", choices=list(scenarios.BY_NAME))
    parser.add_argument("--scenario", action="append", choices=list(scenarios.BY_NAME), dest="names")
    args = parser.parse_args(argv)
    seed = dict(re.findall(r"^(\w+): (.*)$", Path(args.seed_file).read_text(), flags=re.MULTILINE))

    from portal import create_app
    from portal.extensions import db

    app = create_app()
    with app.app_context():
        counter = QueryCounter(db.engine)
    if args.profile:
        profile(app, scenarios.BY_NAME[args.profile], seed, args.repeat)
        return 0
    chosen = set(args.names or scenarios.BY_NAME) | {scenarios.CEILING}
    for scenario in scenarios.SCENARIOS:
        if scenario.name in chosen:
            print(json.dumps(measure(app, scenario, seed, args.repeat, counter)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
