"""The embedded default under concurrent use: no error, nothing lost, everything synced (issue #11).

    .venv/bin/python bench/embedded_load.py [--seconds 60] [--clients 8]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/embedded_load.py --seconds 20

Runs `make run`'s configuration in a fresh instance folder of its own: `flask portal init`,
`seed-demo` (the demo's HubSpot connection pushes every new referral to the composed HubSpot
sandbox), then `flask --app wsgi run --with-threads` on a free port — SQLite and the in-process
worker. With DATABASE_URL and REDIS_URL set it runs the same load on that PostgreSQL database
(dropped and created afresh; its name gets a `_embedded_load` suffix) and Redis (a free database
index claimed as the test runs claim theirs), with one `worker.py` process doing the jobs and one
`rq cron portal.jobs.cron` running the sweep, as in production.

Half of the clients are signed-in partner users submitting "New referral" (GET the form, POST it),
half are prospects sending the public link form, each with addresses of its own. Afterwards it waits
(up to --settle seconds) until the worker has pushed everything, then prints:
  embedded_requests   answers received
  embedded_errors     answers that were not 2xx/303, requests without an answer, and "database is
                      locked" in the server's log (a job that failed counts too); must be 0
  embedded_lost       submissions answered 303 whose referral is missing; must be 0
  embedded_unsynced   accepted submissions whose referral has no deal in the HubSpot sandbox; 0
and a few more lines for context. Exit status 1 when any of the three is not 0. The machine this
runs on may be shared: the figures to watch are the zeros, not the request rate.
"""
from __future__ import annotations

import argparse
import html.parser
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "demo-password"  # portal/cli/demo.py DEMO_PASSWORD
HUBSPOT_TOKEN = "pat-na1-sandbox-demo-token"  # portal/cli/demo.py DEMO_HUBSPOT_TOKEN
PARTNERS = ["jane@northwind.example", "paul@northwind.example", "bella@bluebird.example", "carl@cobalt.example"]
TIMEOUT = 60


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class FormInputs(html.parser.HTMLParser):
    """The named inputs of the first <form method=post> with a given action (hidden values kept)."""

    def __init__(self, action: str | None):
        super().__init__()
        self.action, self.inside, self.done, self.values = action, False, False, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and not self.done and (attrs.get("method") or "").lower() == "post":
            self.inside = self.action is None or attrs.get("action") in (None, "", self.action)
        elif self.inside and tag in ("input", "button") and attrs.get("name"):
            if (attrs.get("type") or "text") in ("hidden", "text", "email"):
                self.values.setdefault(attrs["name"], attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside, self.done = False, True


def form_inputs(page: str, action: str | None = None) -> dict[str, str]:
    parser = FormInputs(action)
    parser.feed(page)
    return parser.values


class Client:
    """One keep-alive connection with a cookie jar."""

    def __init__(self, port: int):
        self.port, self.cookies, self.conn = port, {}, None

    def send(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        headers = {"User-Agent": "embedded-load"}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        for raw in response.msg.get_all("Set-Cookie") or ():
            name, _, rest = raw.partition("=")
            value = rest.split(";", 1)[0]
            if value and "Max-Age=0" not in raw:
                self.cookies[name.strip()] = value
            else:
                self.cookies.pop(name.strip(), None)
        if response.will_close:
            self.close()
        return response.status, data, response.getheader("Location") or ""

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@dataclass
class Tally:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list = field(default_factory=list)
    accepted_referrals: list = field(default_factory=list)   # contact emails answered 303
    accepted_link_forms: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, method, path, status, ok, detail=""):
        with self.lock:
            self.requests += 1
            self.statuses[status] += 1
            if not ok:
                self.failures.append(f"{method} {path} -> {status} {detail}"[:300])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def partner_loop(index: int, port: int, until: float, tally: Tally) -> None:
    client = Client(port)
    email = PARTNERS[index % len(PARTNERS)]
    status, page, _ = client.send("GET", "/login")
    form = form_inputs(page)
    status, page, location = client.send("POST", "/login", {**form, "email": email, "password": PASSWORD})
    tally.answer("POST", "/login", status, status == 303, page[:120])
    n = 0
    while time.monotonic() < until:
        n += 1
        try:
            status, page, _ = client.send("GET", "/partner/referrals/new")
            tally.answer("GET", "/partner/referrals/new", status, status == 200)
            if status != 200:
                continue
            contact = f"load{index}-{n}@customer{index}-{n}.example"
            fields = {**form_inputs(page, "/partner/referrals/new"), "contact_first_name": "Load",
                      "contact_last_name": f"Client {index}-{n}", "contact_email": contact,
                      "company_name": f"Load Customer {index}-{n}", "company_domain": f"customer{index}-{n}.example",
                      "company_country": "US", "company_size": "11-50", "notes": "embedded load",
                      "estimated_value": "1000", "currency": "USD", "consent": "y"}
            status, page, location = client.send("POST", "/partner/referrals/new", fields)
            ok = status == 303
            tally.answer("POST", "/partner/referrals/new", status, ok, re.sub(r"\s+", " ", page)[:200])
            if ok:
                with tally.lock:
                    tally.accepted_referrals.append(contact)
        except (OSError, http.client.HTTPException) as err:
            tally.answer("*", "/partner/referrals/new", 0, False, repr(err))


def prospect_loop(index: int, port: int, code: str, until: float, tally: Tally) -> None:
    client = Client(port)
    path = f"/r/{code}"
    n = 0
    while time.monotonic() < until:
        n += 1
        try:
            status, page, _ = client.send("GET", path)
            tally.answer("GET", path, status, status == 200)
            if status != 200:
                continue
            contact = f"prospect{index}-{n}@prospect{index}-{n}.example"
            fields = {**form_inputs(page), "contact_first_name": "Pat", "contact_last_name": f"Prospect {index}-{n}",
                      "contact_email": contact, "company_name": f"Prospect {index}-{n} Inc", "contact_phone": "",
                      "notes": "embedded load", "consent": "y", "homepage": ""}
            status, page, _ = client.send("POST", path, fields)
            ok = status == 303
            tally.answer("POST", path, status, ok, re.sub(r"\s+", " ", page)[:200])
            if ok:
                with tally.lock:
                    tally.accepted_link_forms.append(contact)
        except (OSError, http.client.HTTPException) as err:
            tally.answer("*", path, 0, False, repr(err))


class Portal:
    """The portal as `make run` starts it (plus worker.py when REDIS_URL is set)."""

    def __init__(self, args):
        self.instance = Path(tempfile.mkdtemp(prefix="portal-embedded-load-"))
        self.port = free_port()
        self.database_url = os.environ.get("DATABASE_URL") or None
        self.redis_url = os.environ.get("REDIS_URL") or None
        if self.database_url:
            self.database_url = self._fresh_postgres(self.database_url)
        self.log_path = self.instance / "server.log"
        self.processes: list[subprocess.Popen] = []
        self.claims, self.claimed = None, None

    @staticmethod
    def _fresh_postgres(url: str) -> str:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url
        parsed = make_url(url)
        name = f"{parsed.database}_embedded_load"
        with create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return parsed.set(database=name).render_as_string(hide_password=False)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(INSTANCE_PATH=str(self.instance), PUBLIC_BASE_URL=f"http://127.0.0.1:{self.port}",
                   SANDBOX_CRMS="1", EMBEDDED_WORKER="1", PORTAL_ENV="development",
                   # Many submissions a second from one address, as no prospect would send.
                   PUBLIC_FORM_RATE_LIMIT="1000000 per minute", PUBLIC_LINK_RATE_LIMIT="1000000 per minute",
                   PUBLIC_FORM_MIN_SECONDS="0")
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
            env["RATELIMIT_STORAGE_URI"] = "memory://"
        return env

    def flask(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "portal", "portal", *args], cwd=ROOT,
                              env=self.env(), capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise SystemExit(f"flask portal {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def _claim_redis(self) -> None:
        """A database index of its own on REDIS_URL's server, claimed as the test runs claim theirs
        (tests/conftest.py), so emptying it cannot touch a test run's or a demo's jobs."""
        import redis
        base = self.redis_url.rsplit("/", 1)[0] if self.redis_url.count("/") > 2 else self.redis_url
        self.claims = redis.Redis.from_url(f"{base}/0")
        for offset in range(15):
            index = 1 + (os.getpid() + offset) % 15
            if self.claims.set(f"portal-test-db-{index}", os.getpid(), nx=True, ex=3600):
                self.claimed, self.redis_url = index, f"{base}/{index}"
                redis.Redis.from_url(self.redis_url).flushdb()
                return
        raise SystemExit("every Redis database index 1-15 is claimed by a test run; try again later")

    def start(self) -> None:
        if self.redis_url:
            self._claim_redis()
        self.flask("init")
        self.flask("seed-demo")
        out = open(self.log_path, "ab")
        self.processes.append(subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host", "127.0.0.1", "--port", str(self.port),
             "--with-threads"], cwd=ROOT, env=self.env(), stdout=out, stderr=out, start_new_session=True))
        if self.redis_url:
            # Production's job processes (README): a worker, and the one `rq cron` that runs the sweep.
            self.processes.append(subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=self.env(),
                                                   stdout=out, stderr=out, start_new_session=True))
            self.processes.append(subprocess.Popen(
                [str(Path(sys.executable).with_name("rq")), "cron", "portal.jobs.cron", "--url", self.redis_url],
                cwd=ROOT, env=self.env(), stdout=out, stderr=out, start_new_session=True))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if Client(self.port).send("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"the portal did not answer /healthz within 60 s:\n{self.log_tail()}")

    def log_tail(self, size: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-size:] if self.log_path.exists() else ""

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        if self.claimed is not None:
            self.claims.delete(f"portal-test-db-{self.claimed}")

    def state(self) -> dict:
        """What the portal's database says, read by a short script in the portal's own configuration."""
        script = (
            "import json\n"
            "from portal import create_app\n"
            "from portal.extensions import db\n"
            "from portal.models import CrmLink, Referral, ReferralLink\n"
            "app = create_app({'SANDBOX_CRMS': False})\n"
            "with app.app_context():\n"
            "    rows = db.session.execute(db.select(Referral.id, Referral.contact_email)).all()\n"
            "    links = db.session.execute(db.select(CrmLink.entity_id, CrmLink.crm_id, CrmLink.dirty, CrmLink.state)\n"
            "        .where(CrmLink.entity_type == 'referral')).all()\n"
            "    code = db.session.scalar(db.select(ReferralLink.code).where(ReferralLink.active.is_(True))\n"
            "        .order_by(ReferralLink.id))\n"
            "    print(json.dumps({'referrals': {str(i): e for i, e in rows}, 'link_code': code,\n"
            "        'links': {str(l[0]): {'crm_id': l[1], 'dirty': l[2], 'state': l[3]} for l in links}}))\n")
        env = {**self.env(), "EMBEDDED_WORKER": "0"}
        done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120)
        if done.returncode != 0:
            raise SystemExit(f"reading the portal's state failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def sandbox_deals(self) -> dict[str, str]:
        """portal_referral_id -> deal id of every deal in the composed HubSpot sandbox."""
        client, deals, after = Client(self.port), {}, None
        while True:
            query = {"limit": "100", "properties": "portal_referral_id", **({"after": after} if after else {})}
            path = "/sandbox/hubspot/crm/v3/objects/deals?" + urllib.parse.urlencode(query)
            client.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
            client.conn.request("GET", path, headers={"Authorization": f"Bearer {HUBSPOT_TOKEN}"})
            response = client.conn.getresponse()
            body = response.read()
            client.close()
            if response.status == 429:
                time.sleep(float(response.getheader("Retry-After") or 1))
                continue
            page = json.loads(body)
            for deal in page["results"]:
                deals[str(deal["properties"].get("portal_referral_id"))] = deal["id"]
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return deals


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="seconds of load (default: %(default)s)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default: %(default)s)")
    parser.add_argument("--settle", type=float, default=180,
                        help="seconds to wait at most for the worker to push everything (default: %(default)s)")
    args = parser.parse_args(argv)
    portal = Portal(args)
    mode = "postgresql+redis" if portal.database_url else "sqlite+embedded"
    log(f"{mode}: instance {portal.instance}, port {portal.port}")
    tally = Tally()
    try:
        portal.start()
        code = portal.state()["link_code"]
        until = time.monotonic() + args.seconds
        threads = [threading.Thread(target=partner_loop if i % 2 == 0 else prospect_loop,
                                    args=(i, portal.port, until, tally) if i % 2 == 0 else
                                    (i, portal.port, code, until, tally)) for i in range(args.clients)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        log(f"load done: {tally.requests} answers in {elapsed:.0f} s; waiting for the worker to push")

        accepted = tally.accepted_referrals + tally.accepted_link_forms
        settle_until, state = time.monotonic() + args.settle, None
        while True:
            state = portal.state()
            by_email = {email: rid for rid, email in state["referrals"].items()}
            pending = [rid for email in accepted if (rid := by_email.get(email)) is not None
                       and (state["links"].get(rid) is None or state["links"][rid]["dirty"]
                            or state["links"][rid]["state"] != "synced")]
            if not pending or time.monotonic() > settle_until:
                break
            time.sleep(2)
        settled = time.monotonic() - started - elapsed
        deals = portal.sandbox_deals()
        lost = [email for email in accepted if email not in by_email]
        unsynced = [email for email in accepted if email in by_email and by_email[email] not in deals]
        locked = portal.log_tail(size=10**9).count("database is locked")
        errors = len(tally.failures) + locked
    finally:
        portal.stop()

    print(f"embedded_mode: {mode}")
    print(f"embedded_requests: {tally.requests}")
    print(f"embedded_errors: {errors}")
    print(f"embedded_lost: {len(lost)}")
    print(f"embedded_unsynced: {len(unsynced)}")
    print(f"embedded_submissions: {len(accepted)}")
    print(f"embedded_rps: {tally.requests / elapsed:.1f} req/s")
    print(f"embedded_settle: {settled:.1f} s")
    log(f"statuses {dict(sorted(tally.statuses.items()))}; 'database is locked' in the log: {locked}")
    for failure in tally.failures[:5]:
        log(f"  failed: {failure}")
    for email in (lost + unsynced)[:5]:
        log(f"  missing or unsynced: {email}")
    if errors or lost or unsynced:
        log(f"server log: {portal.log_path}")
        return 1
    shutil.rmtree(portal.instance, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
