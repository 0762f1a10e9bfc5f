"""The HubSpot sandbox as one blueprint under /sandbox/hubspot: API, record pages, admin."""
from __future__ import annotations

from flask import Blueprint, jsonify

from crm_sandbox.hubspot import admin, errors
from crm_sandbox.hubspot.api import associations, objects, schema
from crm_sandbox.ui import hubspot as ui

URL_PREFIX = "/sandbox/hubspot"


def make_blueprint(*, with_admin: bool, with_ui: bool) -> Blueprint:
    bp = Blueprint("hubspot", __name__, url_prefix=URL_PREFIX)
    bp.register_error_handler(errors.HubSpotError, lambda err: err.response())
    bp.register_error_handler(ValueError, lambda err: errors.validation(str(err)).response())
    for api in (objects.bp, schema.bp, associations.bp):
        bp.register_blueprint(api)
    if with_ui:
        bp.register_blueprint(ui.bp)
        bp.register_blueprint(ui.links)
    if with_admin:
        bp.register_blueprint(admin.make_blueprint())
    return bp


def not_found_response(path: str):
    return errors.HubSpotError(404, f"No route for {path}", "OBJECT_NOT_FOUND").response()


def method_not_allowed_response(path: str):
    response = jsonify({"status": "error", "message": f"Method not allowed for {path}",
                        "category": "METHOD_NOT_ALLOWED"})
    response.status_code = 405
    return response


def internal_error_response():
    return errors.HubSpotError(500, "internal error", "INTERNAL_ERROR").response()
