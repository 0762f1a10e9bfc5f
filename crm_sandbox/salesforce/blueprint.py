"""The Salesforce sandbox as one blueprint under /sandbox/salesforce: OAuth, REST, pages, admin."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify

from crm_sandbox.salesforce import admin, errors, org, records
from crm_sandbox.salesforce.api import composite, composite_requests, oauth, query, sobjects
from crm_sandbox.ui import salesforce as ui

URL_PREFIX = "/sandbox/salesforce"


def make_blueprint(*, with_admin: bool, with_ui: bool) -> Blueprint:
    bp = Blueprint("salesforce", __name__, url_prefix=URL_PREFIX)
    bp.register_error_handler(errors.SalesforceError, lambda err: err.response())
    bp.register_error_handler(errors.OAuthError, lambda err: err.response())
    bp.register_error_handler(ValueError, lambda err: errors.SalesforceError(
        400, "INVALID_INPUT", str(err)).response())
    # Two concurrent writes claiming one unique value (PostgreSQL; SQLite writers queue): the
    # loser answers as Salesforce does under row contention, and its retry finds the record.
    bp.register_error_handler(sa.exc.IntegrityError, lambda err: errors.SalesforceError(
        400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records").response())
    for api in (oauth.bp, sobjects.versions_bp, sobjects.bp, query.bp, composite.bp, composite_requests.bp):
        bp.register_blueprint(api)
    bp.record_once(lambda state: _start(state.app))
    if with_ui:
        bp.register_blueprint(ui.bp)
        bp.register_blueprint(ui.links)
    if with_admin:
        bp.register_blueprint(admin.make_blueprint())
    return bp


def _start(app) -> None:
    """The org's schema and duplicate rules start from the settings (org.py); a database written
    by an older sandbox gets its look-up index."""
    sandbox = app.extensions["crm_sandbox"]
    org.configure_from_settings(sandbox.crms["salesforce"].extras, sandbox.settings)
    with app.app_context(), sandbox.store.sessions() as session:
        if records.rebuild_lookup(session):
            session.commit()


def not_found_response():
    return errors.not_found().response()


def method_not_allowed_response(method: str):
    response = jsonify([{"errorCode": "METHOD_NOT_ALLOWED",
                         "message": f"HTTP Method '{method}' not allowed. Allowed are GET,PATCH,DELETE,POST"}])
    response.status_code = 405
    return response


def internal_error_response():
    return errors.SalesforceError(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred in the "
                                  "Salesforce sandbox (see its log).").response()
