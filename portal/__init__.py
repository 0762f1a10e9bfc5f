"""Referral Portal: create_app() builds the Flask application (DESIGN.md §3)."""
from __future__ import annotations

import importlib
import logging

from flask import Flask, redirect, url_for
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError

from portal import config as portal_config
from portal import cli, database, money
from portal.jobs import cron, queues
from portal.web import errorpages, guards, hygiene, layout, request_limits
from portal.blueprints import register_blueprints
from portal.extensions import csrf, db, limiter, login_manager, migrate
from portal.services import audit, branding, deals, notifications, sessions, statuses
# Imported for their session hooks: the read cache's version stamps and the dashboards' tallies.
from portal.services import read_cache, tallies  # noqa: F401

log = logging.getLogger(__name__)


def create_app(config: dict | None = None) -> Flask:
    settings = portal_config.load(config)
    app = Flask(__name__, instance_path=settings["INSTANCE_PATH"], instance_relative_config=False)
    app.config.update(settings)
    app.url_map.converters["int"] = hygiene.RecordIdConverter
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    db.init_app(app)
    migrate.init_app(app, db, directory=str(portal_config.PROJECT_ROOT / "migrations"),
                     render_as_batch=True)
    request_limits.register(app)  # before CSRFProtect, which reads the body
    csrf.init_app(app)
    limiter.init_app(app)
    _init_login(app)
    with app.app_context():
        database.configure(app, db.engine)

    audit.listen()
    register_blueprints(app)
    _template_helpers(app)
    errorpages.register(app)
    cli.register(app)
    _security_headers(app)

    @app.get("/")
    def home():
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        return redirect(url_for("internal.dashboard" if current_user.is_internal else "partner.dashboard"))

    if app.config["SANDBOX_CRMS"]:
        _mount_sandboxes(app)
    request_limits.trust_proxies(app)  # outermost, so the sandboxes see the real client too
    return app


def start_background_worker(app: Flask) -> None:
    """The embedded mode (no REDIS_URL): run the RQ worker and the cron schedule in a thread."""
    if app.config.get("REDIS_URL") or not app.config.get("EMBEDDED_WORKER"):
        return
    queues.start_embedded_worker(app, cron.build_scheduler(queues.connection(app)))
    log.info("embedded RQ worker started (in-process fakeredis; set REDIS_URL to use a real Redis)")


def _template_helpers(app: Flask) -> None:
    app.jinja_env.filters["money"] = money.format_amount
    # One rule for a button and its view: templates ask `can("manage_orgs")` (portal/web/guards.py).
    app.jinja_env.globals["can"] = guards.can
    app.jinja_env.globals["brand_icon"] = _brand_icon
    app.jinja_env.globals["layout_url"] = layout.layout_url
    app.jinja_env.globals["record_url"] = layout.record_url
    # A status badge's tone (macros/referrals.html, macros/deals.html), from the services' one table each.
    app.jinja_env.globals["badge_tones"] = {"referral": statuses.BADGES, "deal": deals.BADGES}
    # A registration's badge reads its label by status: a list row is a plain row, not the model.
    app.jinja_env.globals["deal_labels"] = deals.labels()

    @app.context_processor
    def navigation_counts():
        # Mail is rendered outside requests too, where there is no user at all.
        if getattr(current_user, "is_authenticated", False):
            return {"unread_notifications": notifications.unread_label(current_user)}
        return {}


def _init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_token: str):
        # A server-side session (services/sessions.py); the navigation's unread count comes with the user.
        return sessions.resume(session_token)


def _brand_icon():
    """Every page's tab icon: the uploaded logo's, when there is one (a read-cached setting). An error
    page shown because the database is unreachable (or not created yet) keeps the portal's own icon."""
    try:
        return branding.get()
    except SQLAlchemyError:
        db.session.rollback()
        return None


def _security_headers(app: Flask) -> None:
    @app.after_request
    def headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # Pages may not be framed; a route that is meant to be embedded sets its own policy first.
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
        )
        # X-Frame-Options is frame-ancestors for old browsers: only where the policy forbids framing.
        if "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]:
            response.headers.setdefault("X-Frame-Options", "DENY")
        if app.config["HSTS_MAX_AGE"]:
            response.headers.setdefault("Strict-Transport-Security",
                                        f"max-age={app.config['HSTS_MAX_AGE']}; includeSubDomains")
        return response


def _mount_sandboxes(app: Flask) -> None:
    """Serve the CRM sandboxes from the same process, composed at the WSGI level (never in production).

    The sandbox package is not part of the product, so it is loaded by name only when switched on.
    """
    sandbox = importlib.import_module("crm_sandbox").create_app({
        # The demo reacts at once to a deal moved in the sandbox: its webhooks come to the portal.
        "SANDBOX_HUBSPOT_WEBHOOK_URL": app.config["PUBLIC_BASE_URL"] + "/webhooks/hubspot",
        "SANDBOX_DATABASE_URL": app.config.get("SANDBOX_DATABASE_URL")
        or f"sqlite:///{app.config['INSTANCE_PATH']}/crm_sandbox.db",
    })
    portal_wsgi = app.wsgi_app

    def composed(environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/sandbox/"):
            return sandbox(environ, start_response)
        return portal_wsgi(environ, start_response)

    app.wsgi_app = composed
    app.extensions["crm_sandbox"] = sandbox
