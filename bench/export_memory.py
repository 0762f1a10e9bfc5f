"""Report export in constant memory: N referrals exported as CSV and as Excel, peak resident memory.

    .venv/bin/python bench/export_memory.py [--quick] [--rows N] [--format csv|xlsx|both]

Builds a portal database of its own (SQLite in a temp folder, or DATABASE_URL's PostgreSQL server
in a database of its own), seeds it with `seed-bench` (N referrals over 20 partners), then runs each
export in a fresh child process — what the worker's `run_export` job runs: the report as an internal
user, rows streamed from the database, written to a file — and reads the child's peak RSS from
getrusage. The target is 200,000 rows under 150 MB.

Figures (one `name: value unit` line each; the first format's are the unprefixed ones):
- export_rows: rows written
- export_peak_rss_mb: the exporting process's peak resident memory
- export_rows_per_s: rows written per second of wall time
- export_xlsx_* / export_csv_*: the same per format
The run is bounded: it stops with exit status 1 after TIME_BUDGET_SECONDS.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TIME_BUDGET_SECONDS = 540


def _config(folder: Path, database_url: str) -> dict:
    return {"SECRET_KEY": "bench", "INSTANCE_PATH": str(folder), "SQLALCHEMY_DATABASE_URI": database_url,
            "EMBEDDED_WORKER": False, "REDIS_URL": None, "SMTP_URL": None, "PORTAL_ENV": "test",
            "SANDBOX_CRMS": False}


def _database(folder: Path) -> tuple[str, callable]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return f"sqlite:///{folder / 'bench.db'}", lambda: None
    from sqlalchemy import create_engine, make_url, text
    parsed = make_url(url)
    name = f"portal_export_bench_{os.getpid()}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return parsed.set(database=name).render_as_string(hide_password=False), drop


def seed(folder: Path, database_url: str, rows: int) -> None:
    from portal import create_app
    from portal.cli import demo
    from portal.extensions import db
    from portal.models import User
    app = create_app(_config(folder, database_url))
    with app.app_context():
        db.create_all()
        demo.seed_bench(partners=20, referrals=rows)
        db.session.add(User(organization=demo.ensure_vendor(), email="bench-admin@acme.example", name="Bench admin",
                            role="admin", active=True, notification_preferences={}))
        db.session.commit()


def child(folder: str, database_url: str, fmt: str) -> None:
    """Runs in its own process: one export, then its figures as JSON on stdout."""
    import resource

    from portal import create_app
    from portal.extensions import db
    from portal.models import User
    from portal.services.reporting import ReportState, build, exports
    app = create_app(_config(Path(folder), database_url))
    with app.app_context():
        admin = db.session.scalar(db.select(User).where(User.role == "admin"))
        report = build(admin, "referrals", ReportState.from_query(
            "referrals", "cols=number,created_at,partner_name,company_name,contact_name,contact_email,status,"
                         "estimated_value,won_amount,commission_amount"))
        written = 0

        def progress(done):
            nonlocal written
            written = done

        started = time.perf_counter()
        with open(os.path.join(folder, f"export.{fmt}"), "wb") as stream:
            exports.WRITERS[fmt](report, stream, progress=progress)
        elapsed = time.perf_counter() - started
        rows = report.count()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": rows, "seconds": elapsed, "peak_mb": peak_kb / 1024}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 rows instead of 200,000")
    parser.add_argument("--rows", type=int)
    parser.add_argument("--format", choices=["csv", "xlsx", "both"], default="both")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    rows = args.rows or (20_000 if args.quick else 200_000)
    formats = ["csv", "xlsx"] if args.format == "both" else [args.format]
    deadline = time.monotonic() + TIME_BUDGET_SECONDS
    with tempfile.TemporaryDirectory(prefix="export-bench-") as tmp:
        folder = Path(tmp)
        database_url, drop = _database(folder)
        try:
            started = time.perf_counter()
            seed(folder, database_url, rows)
            print(f"seed_seconds: {time.perf_counter() - started:.1f} s", file=sys.stderr)
            results = {}
            for fmt in formats:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    print("time budget exhausted", file=sys.stderr)
                    return 1
                out = subprocess.run([sys.executable, __file__, "--child", str(folder), database_url, fmt],
                                     capture_output=True, text=True, timeout=remaining, cwd=ROOT)
                if out.returncode != 0:
                    print(out.stderr, file=sys.stderr)
                    return 1
                results[fmt] = json.loads(out.stdout.strip().splitlines()[-1])
        finally:
            drop()
    first = results[formats[0]]
    print(f"export_rows: {first['rows']} rows")
    print(f"export_peak_rss_mb: {first['peak_mb']:.1f} MB")
    print(f"export_rows_per_s: {first['rows'] / first['seconds']:.0f} rows/s")
    for fmt, result in results.items():
        print(f"export_{fmt}_rows: {result['rows']} rows")
        print(f"export_{fmt}_peak_rss_mb: {result['peak_mb']:.1f} MB")
        print(f"export_{fmt}_rows_per_s: {result['rows'] / result['seconds']:.0f} rows/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
