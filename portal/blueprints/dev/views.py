"""Development only: the mail captured when no SMTP_URL is set (never registered in production)."""
from __future__ import annotations

from flask import Blueprint, render_template

from portal.services import outbox

bp = Blueprint("dev", __name__)


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
