"""Styled error pages; a stray DomainError becomes a 4xx, never a 500."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError

from portal.errors import DomainError
from portal.extensions import db

log = logging.getLogger(__name__)

TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Cannot do that",
    429: "Too many attempts",
    500: "Something went wrong",
}


def render_error(status: int, message: str | None = None):
    if request.accept_mimetypes.best == "application/json" or request.path.startswith("/webhooks/"):
        return jsonify(error=TITLES.get(status, "Error"), message=message), status
    return render_template("errors/error.html", status=status, title=TITLES.get(status, "Error"),
                           message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(err):
        return render_error(400, "Your form expired or was sent from elsewhere. Reload the page and try again.")

    @app.errorhandler(DomainError)
    def domain_error(err):
        db.session.rollback()
        return render_error(err.status_code, err.message)

    @app.errorhandler(429)
    def too_many(err):
        return render_error(429, "Too many attempts. Please wait a few minutes before trying again.")

    @app.errorhandler(413)
    def too_large(err):
        limit = request.max_content_length or 0
        return render_error(413, f"What you sent is larger than the {limit // 1024:,} KB this page accepts. "
                                 "Send less at a time, or a smaller file.")

    @app.errorhandler(400)
    @app.errorhandler(403)
    @app.errorhandler(404)
    @app.errorhandler(405)
    def http_error(err):
        return render_error(err.code)

    @app.errorhandler(500)
    def server_error(err):
        db.session.rollback()
        log.error("unhandled error on %s %s", request.method, request.path, exc_info=getattr(err, "original_exception", None))
        return render_error(500, "We have been told about it. Please try again in a moment.")
