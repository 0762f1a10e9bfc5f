"""Development only: the mail captured when no SMTP_URL is set (never registered in production)."""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from portal.extensions import db
from portal.models import EmailMessage

bp = Blueprint("dev", __name__)


@bp.get("/mail")
def mail_list():
    messages = db.session.scalars(db.select(EmailMessage).order_by(EmailMessage.id.desc()).limit(200)).all()
    return render_template("dev/mail_list.html", messages=messages)


@bp.get("/mail/<int:message_id>")
def mail_detail(message_id: int):
    message = db.session.get(EmailMessage, message_id) or abort(404)
    return render_template("dev/mail_detail.html", message=message)


@bp.get("/mail/<int:message_id>/html")
def mail_html(message_id: int):
    message = db.session.get(EmailMessage, message_id) or abort(404)
    # Shown in a sandboxed iframe: the mail's HTML never runs in the portal's origin.
    return message.html_body, 200, {"Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'",
                                    "X-Frame-Options": "SAMEORIGIN"}
