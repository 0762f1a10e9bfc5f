"""Is the portal's database reachable, and its queue? (GET /healthz)"""
from __future__ import annotations

import redis
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db
from portal.jobs import queues


def check() -> dict[str, str]:
    """{"database": "ok" | "unreachable", "queue": "ok" | "unreachable"}."""
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError:
        checks["database"] = "unreachable"
    try:
        queues.connection().ping()
        checks["queue"] = "ok"
    except redis.RedisError:
        checks["queue"] = "unreachable"
    return checks
