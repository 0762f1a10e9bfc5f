"""Fail closed: development pages only when asked for by name, HSTS in production, the real client
behind trusted proxies, and request bodies bounded (issue #15 items 2 and 4)."""
from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from portal import create_app
from tests.factories import internal_user, partner_user

ROOT = Path(__file__).resolve().parents[2]


def _app(tmp_path, **config):
    return create_app({"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path), "EMBEDDED_WORKER": False,
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fail_closed.db'}", **config})


@pytest.mark.parametrize("env", ["", "prod", "Developement"])
def test_dev_mail_and_the_sandboxes_do_not_exist_in_an_unknown_environment(tmp_path, monkeypatch, env):
    monkeypatch.setenv("PORTAL_ENV", env)
    monkeypatch.setenv("SANDBOX_CRMS", "1")
    client = _app(tmp_path).test_client()
    assert client.get("/dev/mail").status_code == 404
    assert client.get("/sandbox/hubspot/ui/deals").status_code == 404


def test_dev_mail_needs_a_signed_in_admin_even_in_development(client, db):
    anonymous = client.get("/dev/mail")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    client.login(partner_user(role="partner_admin"))
    assert client.get("/dev/mail").status_code == 404
    client.post("/logout", data={"csrf_token": client.csrf_token()})
    client.login(internal_user("manager"))
    assert client.get("/dev/mail").status_code == 404
    client.post("/logout", data={"csrf_token": client.csrf_token()})
    client.login(internal_user("admin"))
    assert client.get("/dev/mail").status_code == 200


def test_production_sends_hsts(tmp_path, monkeypatch):
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    app = _app(tmp_path, PORTAL_ENV="production", ALLOW_SQLITE_IN_PRODUCTION=True,
               RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0")
    response = app.test_client().get("/login", base_url="https://portal.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_development_sends_no_hsts(client, db):
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_behind_a_trusted_proxy_the_client_address_is_the_forwarded_one(tmp_path):
    app = _app(tmp_path, PORTAL_ENV="test", TRUSTED_PROXIES=1)

    @app.get("/_whoami")
    def whoami():
        from flask import request
        return request.remote_addr

    client = app.test_client()
    seen = client.get("/_whoami", headers={"X-Forwarded-For": "198.51.100.7"},
                      environ_base={"REMOTE_ADDR": "10.0.0.2"}).get_data(as_text=True)
    assert seen == "198.51.100.7"
    # Without trusted proxies the header is a client's claim and is ignored.
    untrusting = _app(tmp_path, PORTAL_ENV="test")
    untrusting.add_url_rule("/_whoami", "whoami", lambda: __import__("flask").request.remote_addr)
    assert untrusting.test_client().get("/_whoami", headers={"X-Forwarded-For": "198.51.100.7"},
                                        environ_base={"REMOTE_ADDR": "10.0.0.2"}).get_data(as_text=True) == "10.0.0.2"


def test_a_form_post_over_the_limit_is_a_413_page(client, db):
    response = client.post("/login", data={"email": "x" * (1024 * 1024 + 10), "password": "p"})
    assert response.status_code == 413
    assert "larger than" in response.get_data(as_text=True)


def _post_streamed(port: int, path: str, megabytes: int) -> int:
    """POST `megabytes` of body with its Content-Length, as a client would; the status the portal answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest("POST", path)
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(megabytes * 1024 * 1024))
    conn.endheaders()
    try:
        chunk = b"x" * 65536
        for _ in range(megabytes * 16):
            conn.send(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the portal answered and closed without reading the rest: what we want
    try:
        return conn.getresponse().status
    finally:
        conn.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _peak_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


@pytest.fixture
def gunicorn_portal(tmp_path):
    """The portal as production serves it (gunicorn, one sync worker): (port, worker pid)."""
    port = _free_port()
    env = dict(os.environ, PORTAL_ENV="test", SECRET_KEY="test-secret-key", INSTANCE_PATH=str(tmp_path),
               DATABASE_URL=f"sqlite:///{tmp_path / 'limits.db'}", EMBEDDED_WORKER="0", SANDBOX_CRMS="0")
    env.pop("REDIS_URL", None)
    master = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
                               "portal:create_app()"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("GET", "/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline and master.poll() is None, "gunicorn did not start"
                time.sleep(0.1)  # waiting for a process to listen, not for time to pass
        children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
        while not children:  # the worker answered, so it exists; /proc lists it a moment later
            assert time.monotonic() < deadline, "no gunicorn worker"
            time.sleep(0.1)
            children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
        yield port, int(children[0])
    finally:
        master.terminate()
        try:
            master.wait(30)
        except subprocess.TimeoutExpired:
            master.kill()
            master.wait(10)


def test_a_large_webhook_post_is_refused_before_it_is_read(gunicorn_portal):
    port, worker = gunicorn_portal
    # The first answer loads what any first answer loads; the growth to watch comes after.
    assert _post_streamed(port, "/webhooks/hubspot", 2) == 413
    before = _peak_kb(worker)
    for megabytes in (2, 64, 300):
        assert _post_streamed(port, "/webhooks/hubspot", megabytes) == 413
    grown_kb = _peak_kb(worker) - before
    assert grown_kb < 4 * 1024, f"the worker grew by {grown_kb} KB"
