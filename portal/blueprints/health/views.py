"""GET /healthz: is the database reachable, and the queue?"""
from __future__ import annotations

from flask import Blueprint, jsonify

from portal.extensions import limiter
from portal.services import health

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    checks = health.check()
    healthy = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if healthy else "degraded", **checks), 200 if healthy else 503
