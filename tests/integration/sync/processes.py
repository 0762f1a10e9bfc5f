"""Running the portal's sync in another process (a real worker or the CLI), to kill it mid-batch."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from portal.extensions import db
from portal.models import CrmLink
from portal.services import crm

ROOT = Path(__file__).resolve().parents[3]


def portal_env(app) -> dict:
    """The environment a second process needs to share this test's database (and Redis)."""
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY=app.config["SECRET_KEY"],
               INSTANCE_PATH=app.config["INSTANCE_PATH"], SANDBOX_CRMS="0", EMBEDDED_WORKER="0")
    env.pop("REDIS_URL", None)
    if app.config.get("REDIS_URL"):
        env["REDIS_URL"] = app.config["REDIS_URL"]
    return env


def flask_command(*args) -> list[str]:
    return [str(Path(sys.executable).with_name("flask")), "--app", "portal", "portal", *args]


def push_killed_when(app, connection_id: int, ready: Callable[[], bool]) -> int:
    """Start a push in another process, SIGKILL it once `ready()`, and return how many links it left
    dirty. With Redis the process is an RQ worker running the coalesced push job; without, the
    embedded worker lives in the web process, so the CLI runs the engine instead."""
    victim = _start_push(app, connection_id)
    try:
        wait_for(ready, "the push never got going")
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
    db.session.rollback()
    return db.session.scalar(db.select(db.func.count(CrmLink.id)).where(CrmLink.dirty.is_(True)))


def _start_push(app, connection_id: int) -> subprocess.Popen:
    if app.config.get("REDIS_URL"):
        crm.schedule_push(connection_id, after_commit=False)
        command = [sys.executable, "worker.py", "sync"]
    else:
        command = flask_command("sync", "push", "--connection", str(connection_id))
    return subprocess.Popen(command, cwd=ROOT, env=portal_env(app), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def wait_for(ready: Callable[[], bool], what: str, seconds: float = 60) -> None:
    """Poll until `ready()` (another process's progress, not time passing), or fail the test."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.05)
    pytest.fail(what)


def run_push(app, connection_id: int) -> None:
    """Restart: one push run to the end in a fresh process."""
    subprocess.run(flask_command("sync", "push", "--connection", str(connection_id)), cwd=ROOT, env=portal_env(app),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
