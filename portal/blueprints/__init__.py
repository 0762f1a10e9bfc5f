"""Blueprints by audience; each package has views.py (and forms.py where it has forms)."""
from flask import Flask

from portal.blueprints.auth import bp as auth_bp
from portal.blueprints.dev.views import bp as dev_bp
from portal.blueprints.health.views import bp as health_bp
from portal.blueprints.integrations import bp as integrations_bp
from portal.blueprints.internal import bp as internal_bp
from portal.blueprints.partner import bp as partner_bp
from portal.blueprints.public import bp as public_bp
from portal.blueprints.reports import bp as reports_bp
from portal.blueprints.search.views import bp as search_bp
from portal.blueprints.webhooks import bp as webhooks_bp


def register_blueprints(app: Flask) -> None:
    app.register_blueprint(health_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(internal_bp, url_prefix="/internal")
    app.register_blueprint(integrations_bp, url_prefix="/internal/integrations")
    app.register_blueprint(partner_bp, url_prefix="/partner")
    app.register_blueprint(public_bp)
    app.register_blueprint(reports_bp, url_prefix="/reports")
    app.register_blueprint(search_bp)
    app.register_blueprint(webhooks_bp)
    if app.config["DEV_MAIL_PAGE"]:
        app.register_blueprint(dev_bp, url_prefix="/dev")
