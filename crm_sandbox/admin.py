"""The admin JSON API each sandbox CRM mounts under `/_admin` (no auth; only when SANDBOX_ADMIN)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from crm_sandbox import clock, runtime, store


def make_blueprint(name: str, *, wipe_tables: tuple, on_reset=None) -> Blueprint:
    """Faults, limits, stats and reset for CRM `name`; the CRM adds its own extras to it."""
    bp = Blueprint(f"{name}_admin", __name__, url_prefix="/_admin")

    @bp.errorhandler(ValueError)
    @bp.errorhandler(TypeError)
    def bad_input(err):
        return jsonify({"error": str(err)}), 400

    @bp.get("/faults")
    def faults():
        return jsonify(runtime.crm(name).faults.snapshot())

    @bp.post("/faults")
    def set_faults():
        return jsonify(runtime.crm(name).faults.configure(_json_object()))

    @bp.delete("/faults")
    def clear_faults():
        runtime.crm(name).faults.clear()
        return jsonify(runtime.crm(name).faults.snapshot())

    @bp.get("/limits")
    def limits():
        return jsonify(runtime.crm(name).limits.snapshot())

    @bp.post("/limits")
    def set_limits():
        limits_ = runtime.crm(name).limits
        body = _json_object()
        allowed = set(limits_.snapshot()) - {"daily_used", "interval_ms"}
        unknown = set(body) - allowed
        if unknown:
            raise ValueError(f"unknown limits: {sorted(unknown)}; allowed: {sorted(allowed)}")
        limits_.configure(**{key: int(value) for key, value in body.items()})
        return jsonify(limits_.snapshot())

    @bp.get("/stats")
    def stats():
        return jsonify(runtime.crm(name).counters.snapshot())

    @bp.delete("/stats")
    def clear_stats():
        runtime.crm(name).counters.clear()
        return jsonify(runtime.crm(name).counters.snapshot())

    @bp.get("/clock")
    def clock_now():
        return jsonify(_clock())

    @bp.post("/clock")
    def advance_clock():
        """Move this sandbox app's clock forward (both CRMs share it): {"advance_seconds": 3600}."""
        body = _json_object()
        unknown = set(body) - {"advance_seconds"}
        if unknown or "advance_seconds" not in body:
            raise ValueError("expected {\"advance_seconds\": <seconds, not negative>}")
        seconds = float(body["advance_seconds"])
        if not 0 <= seconds <= 400 * 86_400:
            raise ValueError("advance_seconds must be between 0 and 400 days")
        runtime.sandbox().clock_offset_ms += int(seconds * 1000)
        return jsonify(_clock())

    @bp.delete("/clock")
    def reset_clock():
        runtime.sandbox().clock_offset_ms = 0
        return jsonify(_clock())

    @bp.post("/reset")
    def reset():
        runtime.sandbox().clock_offset_ms = 0
        runtime.crm(name).reset()
        store.current().wipe(store.session(), wipe_tables)
        if on_reset:
            on_reset()
        return jsonify({"reset": name})

    return bp


def _clock() -> dict:
    return {"now": clock.hubspot_iso(clock.now_ms()), "offset_ms": runtime.sandbox().clock_offset_ms}


def _json_object() -> dict:
    body = request.get_json(silent=True)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    return body
