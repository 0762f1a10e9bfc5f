"""Development only: the mail captured when no SMTP_URL is set.

Registered only when PORTAL_ENV is development or test, and even then only for signed-in admins:
the mail holds password-reset and invitation links.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask_login import current_user

from portal.services import outbox

bp = Blueprint("dev", __name__)


@bp.before_request
def _admins_only():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not current_user.is_admin:
        abort(404)


@bp.get("/mail")
def mail_list():
    return render_template("dev/mail_list.html", messages=outbox.recent())


@bp.get("/mail/<int:message_id>")
def mail_detail(message_id: int):
    return render_template("dev/mail_detail.html", message=outbox.message(message_id))


@bp.get("/mail/<int:message_id>/html")
def mail_html(message_id: int):
    message = outbox.message(message_id)
    # Shown in a sandboxed iframe: the mail's HTML never runs in the portal's origin.
    return message.html_body, 200, {"Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'",
                                    "X-Frame-Options": "SAMEORIGIN"}
