"""Requests/s and latency of the portal's pages under gunicorn on PostgreSQL (DESIGN.md §8).

    .venv/bin/python bench/portal_load.py [--quick] [--clients 20] [--seconds S] [--scenario NAME]
                                          [--scale [SMALL,LARGE]] [--database NAME] [--redis-db N]

Recreates the `portal_bench` database (or --database), seeds it with `flask portal seed-bench`,
first times every page in-process (bench/page_cost.py: Flask's test client, one thread), then
starts gunicorn (2 workers) and runs bench/loadgen.py in a second process against it: the
scenarios of bench/scenarios.py in turn, each for --seconds split into interleaved rounds. For
each it prints `X_rps`, `X_p50`, `X_p99`, `X_errors`, `X_loadgen_cpu` (the load generator's own
share of a core: near a quarter or more, the generator limits the ceiling, not the portal),
`X_vs_healthz` (its requests/s over /healthz's, measured in the same run: absolute figures are
noisy on a shared machine, the ratio is the one to compare between runs), and from the in-process
timing `X_cost_ms`, `X_queries` and `X_cost_vs_healthz` (median page time over median /healthz
time: the figure noise moves least; target <= 3).

`--scale` runs everything twice, at SMALL and at LARGE referrals and as many deal registrations
(default 20000,1000000), and adds
`X_growth` (load p50 at LARGE / at SMALL) and `X_cost_growth` (in-process median, likewise);
target <= 1.3. Any failed request, in-process or under load, makes the exit status 1. Progress
goes to stderr, figures to stdout.

When Debian's `wrk` is installed (`make wrk`), /healthz is measured again with it after the rounds
(`healthz_wrk_rps` etc.) and the ratios divide by the higher of the two /healthz figures, whichever
generator measured it (`ceiling_generator` says which). Both measure the same page: the lower one was
held back by its generator or by the machine at that moment. (Choosing wrk only when the Python
generator crossed a quarter of a core made the ceiling flip between runs, and the ratios with it.)
Without wrk the Python generator's figure stands, with a warning when it used more than a quarter
of a core. `--worker-class sync|gthread`, `--workers`, `--threads` pick gunicorn's model.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis
from psycopg import sql

import gunicorn_hooks
import scenarios

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
DATABASE = "portal_bench"
DATABASE_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"
MAINTENANCE_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
# A Redis database of its own: flushing it between runs cannot touch the tests' or a demo's data.
REDIS_URL = "redis://127.0.0.1:6379/15"
DEFAULT_SCALE = (20_000, 1_000_000)
TARGET_COST_VS_HEALTHZ = 3.0
TARGET_GROWTH = 1.3
# A generator busier than this at the ceiling measures itself as much as the portal.
LOADGEN_CPU_LIMIT = 0.25
WORKERS = 2
THREADS = 8
WORKER_CLASS = "gthread"
TIME_BUDGET_SECONDS = 290  # the issue allows 5 minutes; keep a margin for stopping gunicorn
TARGET_RATIO = 0.25
TARGET_P99_MS = 100.0


@dataclass(frozen=True)
class Mode:
    seconds: float
    warmup: float
    rounds: int
    partners: int
    referrals: int
    deals: int


MODES = {
    "default": Mode(seconds=15, warmup=3, rounds=3, partners=200, referrals=200_000, deals=200_000),
    "quick": Mode(seconds=4, warmup=1, rounds=2, partners=50, referrals=20_000, deals=20_000),
}


class BenchError(Exception):
    """The benchmark could not run; the message says which step failed."""


class Deadline:
    def __init__(self, seconds: float):
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise BenchError(f"out of the {TIME_BUDGET_SECONDS} s time budget (--budget)")
        return left


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def portal_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        SECRET_KEY=scenarios.BENCH_SECRET_KEY,
        SANDBOX_CRMS="0",
        EMBEDDED_WORKER="0",
        # Production would mark cookies Secure, and the clients speak plain http.
        PORTAL_ENV="development",
        # For link_submit only: one address posts hundreds of forms a second, as no prospect would.
        PUBLIC_FORM_RATE_LIMIT="1000000 per minute",
        PUBLIC_LINK_RATE_LIMIT="1000000 per minute",
        PUBLIC_FORM_MIN_SECONDS="0",
    )
    return env


def recreate_database() -> None:
    """Drop and create portal_bench, so every run starts from the same rows and an empty cache."""
    with psycopg.connect(MAINTENANCE_DSN, autocommit=True) as conn:
        # FORCE: a gunicorn left over from an interrupted run must not keep the database alive.
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))


def flush_redis() -> None:
    # The rate limiter's counters from an earlier run would otherwise carry over.
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


def prepare_services() -> None:
    try:
        recreate_database()
    except psycopg.Error as err:
        raise BenchError(f"PostgreSQL: {err} (DESIGN.md §8 says how to start it)") from err
    try:
        flush_redis()
    except redis.RedisError as err:
        raise BenchError(f"Redis at {REDIS_URL}: {err} (DESIGN.md §8 says how to start it)") from err


def flask(*args: str, deadline: Deadline, timeout: float) -> str:
    command = [sys.executable, "-m", "flask", "--app", "portal", "portal", *args]
    try:
        done = subprocess.run(command, cwd=ROOT, env=portal_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=min(timeout, deadline.remaining()))
    except subprocess.TimeoutExpired as err:
        raise BenchError(f"`flask portal {args[0]}` took longer than {err.timeout:.0f} s") from err
    if done.returncode != 0:
        raise BenchError(f"`flask portal {' '.join(args)}` failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout


HEAVY_PARTNER_REFERRALS = 5_000
HEAVY_PARTNER_DEALS = 5_000


def seed(mode: Mode, clients: int, deadline: Deadline) -> dict[str, str]:
    # One partner per client at least, so no two clients share a user.
    partners = max(mode.partners, clients)
    # One big partner among many: the referral list is measured for a partner with 5,000 of them.
    output = flask("seed-bench", "--partners", str(partners), "--referrals", str(mode.referrals),
                   "--heavy-partner-referrals", str(min(HEAVY_PARTNER_REFERRALS, mode.referrals)),
                   # The deal list likewise: a reseller with 5,000 registrations among 200,000.
                   "--deals", str(mode.deals), "--heavy-partner-deals", str(min(HEAVY_PARTNER_DEALS, mode.deals)),
                   # About 5 s per 40,000 rows on this machine: a million of each needs more than the default.
                   deadline=deadline, timeout=max(240, (mode.referrals + mode.deals) / 4_000 + 120))
    values = dict(re.findall(r"^(\w+): (.*)$", output, flags=re.MULTILINE))
    if "bench_run" not in values:
        raise BenchError(f"seed-bench printed no bench_run line:\n{output}")
    return values


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """gunicorn serving wsgi:app the way production does; its own log goes to a file."""

    def __init__(self):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="portal-bench-gunicorn-", suffix=".log", delete=False)
        self.process: subprocess.Popen | None = None

    def start(self, deadline: Deadline) -> None:
        threads = ["--threads", str(THREADS)] if WORKER_CLASS == "gthread" else []
        command = [sys.executable, "-m", "gunicorn", "-c", str(BENCH / "gunicorn_hooks.py"),
                   "-w", str(WORKERS), "-k", WORKER_CLASS, *threads,
                   # The control socket's default path is shared by every gunicorn of this user.
                   "--no-control-socket", "-b", f"127.0.0.1:{self.port}", "wsgi:app"]
        # A session of its own: a Ctrl-C reaches only us, and stop() shuts gunicorn down in order.
        self.process = subprocess.Popen(command, cwd=ROOT, env=portal_env(), stdout=self.log, stderr=self.log,
                                        start_new_session=True)
        # Every worker imports the app at once: on a busy 2-core machine that takes a while per worker.
        boot_seconds = 30 + 10 * WORKERS
        until = time.monotonic() + min(boot_seconds, deadline.remaining())
        while time.monotonic() < until:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            if self.log_tail(size=None).count(gunicorn_hooks.READY) >= WORKERS and self._healthy():
                return
            time.sleep(0.2)
        raise BenchError(f"gunicorn's workers were not all up and answering /healthz within {boot_seconds} s:\n"
                         f"{self.log_tail()}")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def discard_log(self) -> None:
        Path(self.log.name).unlink(missing_ok=True)

    def log_tail(self, size: int | None = 3000) -> str:
        text = Path(self.log.name).read_text(errors="replace")
        return text if size is None else text[-size:]


def page_costs(names: list[str], seed_values: dict[str, str], deadline: Deadline, repeat: int) -> list[dict]:
    """Each page timed in-process (bench/page_cost.py), before gunicorn starts: nothing else of ours runs."""
    with tempfile.NamedTemporaryFile("w", prefix="portal-bench-seed-", suffix=".txt", delete=False) as seed_file:
        seed_file.write("".join(f"{key}: {value}\n" for key, value in seed_values.items()))
    command = [sys.executable, str(BENCH / "page_cost.py"), seed_file.name, "--repeat", str(repeat)]
    for name in names:
        command += ["--scenario", name]
    try:
        done = subprocess.run(command, cwd=ROOT, env=portal_env(), stdout=subprocess.PIPE, text=True,
                              timeout=min(240, deadline.remaining()))
    except subprocess.TimeoutExpired as err:
        raise BenchError(f"the in-process timing took longer than {err.timeout:.0f} s") from err
    finally:
        Path(seed_file.name).unlink(missing_ok=True)
    if done.returncode != 0:
        raise BenchError(f"the in-process timing failed ({done.returncode}); its stderr is above")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def drive_load(base_url: str, names: list[str], args, seed_values: dict[str, str], deadline: Deadline) -> list[dict]:
    spec = {"base_url": base_url, "clients": args.clients, "warmup": args.warmup, "seconds": args.seconds,
            "rounds": args.rounds, "scenarios": names, "seed": seed_values}
    # Signing in, the per-scenario set-up and the short re-warm of later rounds come on top.
    needed = len(names) * (args.warmup + args.seconds + args.rounds + 3) + 30
    if needed > deadline.remaining():
        raise BenchError(f"{len(names)} scenarios need about {needed:.0f} s, "
                         f"only {deadline.remaining():.0f} s are left: lower --seconds")
    try:
        done = subprocess.run([sys.executable, str(BENCH / "loadgen.py")], input=json.dumps(spec), text=True,
                              stdout=subprocess.PIPE, timeout=deadline.remaining())
    except subprocess.TimeoutExpired as err:
        raise BenchError(f"the load generator ran out of the time budget ({err.timeout:.0f} s)") from err
    if done.returncode != 0:
        raise BenchError(f"the load generator failed ({done.returncode}); its stderr is above")
    return json.loads(done.stdout)


WRK_LINE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
WRK_PERCENTILE = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)


def wrk_ceiling(base_url: str, clients: int, seconds: float, deadline: Deadline) -> dict | None:
    """/healthz's requests/s from Debian's wrk (C, epoll), for when the Python generator would be the
    limit; its CPU share comes from the child's rusage. None (and a note) when wrk is not installed."""
    if shutil.which("wrk") is None:
        log("  wrk is not installed (`make wrk` installs Debian's package): the ceiling stays the Python generator's")
        return None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    duration = max(2, round(seconds))
    done = subprocess.run(["wrk", "-t", "2", "-c", str(clients), "-d", f"{duration}s", "--latency",
                           f"{base_url}/healthz"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=min(duration + 30, deadline.remaining()))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    match = WRK_LINE.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout[-1000:]}{done.stderr[-1000:]}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    percentiles = {p: float(v) * scale[unit] for p, v, unit in WRK_PERCENTILE.findall(done.stdout)}
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", done.stdout)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", done.stdout)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, socket_errors.groups())) if socket_errors else 0)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / duration
    return {"rps": float(match.group(1)), "p50_ms": percentiles.get("50", float("nan")),
            "p99_ms": percentiles.get("99", float("nan")), "cpu": cpu,
            "errors": errors}


def report(results: list[dict], costs: list[dict], clients: int, suffix: str = "", wrk: dict | None = None) -> int:
    """Print the figures; answer the exit status: 1 when any scenario had a failed request."""
    ceiling = next((r["rps"] for r in results if r["name"] == scenarios.CEILING), None)
    generator = "loadgen"
    if wrk is not None:
        print(f"{scenarios.CEILING}_wrk_rps{suffix}: {wrk['rps']:.1f} req/s")
        print(f"{scenarios.CEILING}_wrk_p50{suffix}: {wrk['p50_ms']:.1f} ms")
        print(f"{scenarios.CEILING}_wrk_p99{suffix}: {wrk['p99_ms']:.1f} ms")
        print(f"{scenarios.CEILING}_wrk_errors{suffix}: {wrk['errors']}")
        print(f"{scenarios.CEILING}_wrk_cpu{suffix}: {wrk['cpu']:.2f} of a core")
        if ceiling is None or wrk["rps"] > ceiling:
            ceiling, generator = wrk["rps"], "wrk"
    print(f"ceiling_generator{suffix}: {generator}")
    cost_by_name = {c["name"]: c for c in costs}
    healthz_cost = cost_by_name.get(scenarios.CEILING, {}).get("median_ms")
    failed = []
    for r in results:
        name = r["name"]
        print(f"{name}_rps{suffix}: {r['rps']:.1f} req/s")
        print(f"{name}_p50{suffix}: {r['p50_ms']:.1f} ms")
        print(f"{name}_p99{suffix}: {r['p99_ms']:.1f} ms")
        print(f"{name}_errors{suffix}: {r['errors'] + cost_by_name.get(name, {}).get('errors', 0)}")
        print(f"{name}_loadgen_cpu{suffix}: {r['loadgen_cpu']:.2f} of a core")
        ratio = None
        if name != scenarios.CEILING and ceiling:
            ratio = r["rps"] / ceiling
            print(f"{name}_vs_{scenarios.CEILING}{suffix}: {ratio:.2f}")
        cost = cost_by_name.get(name)
        if cost is not None:
            print(f"{name}_cost_ms{suffix}: {cost['median_ms']:.2f} ms")
            print(f"{name}_queries{suffix}: {cost['queries']:g}")
            if name != scenarios.CEILING and healthz_cost:
                cost_ratio = cost["median_ms"] / healthz_cost
                print(f"{name}_cost_vs_{scenarios.CEILING}{suffix}: {cost_ratio:.2f}")
                if cost_ratio > TARGET_COST_VS_HEALTHZ:
                    log(f"  {name} costs {cost_ratio:.1f} times /healthz in-process (target <= {TARGET_COST_VS_HEALTHZ:g})")
            if cost["errors"]:
                failed.append(f"{name} (in-process)")
                log(f"ERROR: {name}: {cost['errors']} in-process requests failed")
        if name == scenarios.CEILING and r["loadgen_cpu"] > LOADGEN_CPU_LIMIT and wrk is None:
            log(f"  the load generator used {r['loadgen_cpu']:.0%} of a core at the ceiling (> {LOADGEN_CPU_LIMIT:.0%}): "
                f"{name}_rps is partly the generator's own limit, which flatters the _vs_{name} ratios")
        sys.stdout.flush()
        log(f"  {name}: {r['requests']} requests, max {r['max_ms']:.1f} ms, statuses {r['statuses']}, "
            f"req/s by round {r['rounds_rps']}, load generator at {r['loadgen_cpu']:.0%} of a core")
        if r["errors"]:
            failed.append(name)
            log(f"ERROR: {name}: {r['errors']} of {r['answers']} requests failed (not 2xx, or no answer; "
                "warm-up included), e.g.:")
            for example in r["examples"]:
                log(f"ERROR:   {example}")
        if ratio is not None and (ratio < TARGET_RATIO or r["p99_ms"] >= TARGET_P99_MS):
            log(f"  {name} misses the target (ratio >= {TARGET_RATIO}, p99 < {TARGET_P99_MS:.0f} ms "
                f"at {clients} clients)")
    if wrk is not None and wrk["errors"]:
        failed.append(f"{scenarios.CEILING} (wrk)")
    if failed:
        log(f"FAILED: requests failed in {', '.join(failed)}: their figures measure error pages, not the pages")
    return 1 if failed else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller seed and shorter windows (under a minute)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (default: %(default)s)")
    parser.add_argument("--seconds", type=float, help="measured seconds per scenario (default: 15, quick: 4)")
    parser.add_argument("--warmup", type=float,
                        help="unmeasured seconds before a scenario's first round (default: 3, quick: 1)")
    parser.add_argument("--rounds", type=int, help="interleaved windows the seconds are split into "
                                                    "(default: 3, quick: 2)")
    parser.add_argument("--scenario", action="append", choices=list(scenarios.BY_NAME), dest="names",
                        help=f"measure only this one (repeatable; {scenarios.CEILING} always runs)")
    parser.add_argument("--scale", nargs="?", const=",".join(map(str, DEFAULT_SCALE)), metavar="SMALL,LARGE",
                        help="run at two sizes and print each page's growth (default sizes: %(const)s)")
    parser.add_argument("--repeat", type=int, default=40, help="in-process requests timed per page (default: 40)")
    parser.add_argument("--database", default=DATABASE,
                        help="the PostgreSQL database to recreate (default: %(default)s; a shared server "
                             "wants one per person)")
    parser.add_argument("--redis-db", type=int, default=15, help="the Redis database index to flush and use")
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn workers (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads per worker (default: %(default)s)")
    parser.add_argument("--worker-class", choices=["gthread", "sync"], default=WORKER_CLASS,
                        help="gunicorn's worker model (default: %(default)s; sync ignores --threads)")
    parser.add_argument("--budget", type=float, default=TIME_BUDGET_SECONDS,
                        help="seconds the run may take, per size with --scale (default: %(default)s; a busy shared "
                             "machine seeds and times slower)")
    args = parser.parse_args(argv)
    if args.scale:
        try:
            args.sizes = tuple(int(part) for part in args.scale.split(","))
        except ValueError:
            parser.error("--scale wants two numbers of referrals, e.g. 20000,1000000")
        if len(args.sizes) != 2 or not 0 < args.sizes[0] < args.sizes[1]:
            parser.error("--scale wants SMALL,LARGE with 0 < SMALL < LARGE")
    args.mode = MODES["quick" if args.quick else "default"]
    args.seconds = args.mode.seconds if args.seconds is None else args.seconds
    args.warmup = args.mode.warmup if args.warmup is None else args.warmup
    args.rounds = args.mode.rounds if args.rounds is None else args.rounds
    if args.clients < 1 or args.rounds < 1 or args.seconds <= 0 or args.warmup < 0:
        parser.error("--clients, --rounds and --seconds must be positive, --warmup not negative")
    return args


def run_once(args, names: list[str], mode: Mode, deadline: Deadline, suffix: str = "") -> tuple[int, list, list]:
    """Recreate, seed, time in-process, load-test and report one size; answers (status, results, costs)."""
    gunicorn = Gunicorn()
    status = None
    try:
        log(f"database {DATABASE}: recreating and migrating")
        prepare_services()
        flask("init", deadline=deadline, timeout=120)
        seed_values = seed(mode, args.clients, deadline)
        log("seeded: " + ", ".join(f"{k} {v}" for k, v in seed_values.items()))
        log(f"timing each page in-process ({args.repeat} requests after a warm-up)")
        costs = page_costs(names, seed_values, deadline, args.repeat)
        gunicorn.start(deadline)
        model = f"{WORKERS} {WORKER_CLASS} workers" + (f" x {THREADS} threads" if WORKER_CLASS == "gthread" else "")
        print(f"gunicorn{suffix}: {model}")
        log(f"gunicorn on {gunicorn.base_url} ({model}); {args.clients} clients, "
            f"{args.warmup:g} s warm-up + {args.seconds:g} s per scenario in {args.rounds} rounds")
        results = drive_load(gunicorn.base_url, names, args, seed_values, deadline)
        healthz = next(r for r in results if r["name"] == scenarios.CEILING)
        wrk = None
        log(f"  healthz again with wrk ({args.seconds / args.rounds:g} s); the Python generator used "
            f"{healthz['loadgen_cpu']:.0%} of a core")
        wrk = wrk_ceiling(gunicorn.base_url, args.clients, args.seconds / args.rounds, deadline)
        status = report(results, costs, args.clients, suffix, wrk)
    except BenchError as err:
        log(f"ERROR: {err}")
        status, results, costs = 2, [], []
    finally:
        gunicorn.stop()
        if status == 0:
            gunicorn.discard_log()
        else:
            log(f"gunicorn log: {gunicorn.log.name}")
    return status, results, costs


def report_growth(small: tuple[list, list], large: tuple[list, list]) -> None:
    """`X_growth`: load p50 at the large size over the small; `X_cost_growth`: the in-process medians'."""
    p50 = [{r["name"]: r["p50_ms"] for r in results} for results, _ in (small, large)]
    cost = [{c["name"]: c["median_ms"] for c in costs} for _, costs in (small, large)]
    for name in p50[0]:
        if name in p50[1] and p50[0][name]:
            growth = p50[1][name] / p50[0][name]
            print(f"{name}_growth: {growth:.2f}")
            if growth > TARGET_GROWTH:
                log(f"  {name} grows {growth:.2f} times from the small to the large data (target <= {TARGET_GROWTH})")
        if name in cost[0] and name in cost[1] and cost[0][name]:
            print(f"{name}_cost_growth: {cost[1][name] / cost[0][name]:.2f}")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    global DATABASE, DATABASE_URL, REDIS_URL, WORKERS, THREADS, WORKER_CLASS, TIME_BUDGET_SECONDS
    args = parse_args(argv)
    TIME_BUDGET_SECONDS = args.budget
    WORKERS, THREADS, WORKER_CLASS = args.workers, args.threads, args.worker_class
    DATABASE = args.database
    DATABASE_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"
    REDIS_URL = f"redis://127.0.0.1:6379/{args.redis_db}"
    # A CI timeout sends SIGTERM: leave through the finally blocks, so gunicorn is stopped too.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    chosen = set(args.names or scenarios.BY_NAME) | {scenarios.CEILING}
    names = [s.name for s in scenarios.SCENARIOS if s.name in chosen]
    started = time.monotonic()
    if not args.scale:
        status, _, _ = run_once(args, names, args.mode, Deadline(TIME_BUDGET_SECONDS))
    else:
        runs = []
        status = 0
        for size in args.sizes:
            # Seeding a million referrals alone takes minutes: each size gets its own budget, scaled.
            budget = TIME_BUDGET_SECONDS + size / 1_000
            # Deal registrations grow with the referrals, so the deal pages' growth is measured too.
            mode = Mode(args.mode.seconds, args.mode.warmup, args.mode.rounds, args.mode.partners, size, size)
            log(f"--scale: {size} referrals (budget {budget:.0f} s)")
            size_status, results, costs = run_once(args, names, mode, Deadline(budget), suffix=f"_at_{size}")
            status = max(status, size_status)
            runs.append((results, costs))
        if status == 0:
            report_growth(*runs)
    log(f"done in {time.monotonic() - started:.0f} s")
    return status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
