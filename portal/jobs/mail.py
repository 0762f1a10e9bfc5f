"""Email: render a message into the outbox, and deliver it over SMTP from the worker.

`queue()` writes an EmailMessage row inside the caller's transaction and schedules its delivery
job for after the commit; `deliver()` is what the job runs. With no SMTP_URL the message is
"captured": marked sent and listed on the development mail page.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage as MimeMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app, render_template
from rq import Retry
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.jobs import queues
from portal.extensions import db
from portal.models import EmailMessage, MailStatus, User
from portal.models.types import utcnow

log = logging.getLogger(__name__)

# Backoff between delivery attempts, in seconds; the sweep picks up anything RQ gave up on.
RETRY_INTERVALS = [10, 60, 300, 900]

# Mail a user cannot opt out of: it is how they get into their account.
SECURITY_EVENTS = {"password_reset", "invitation"}


def queue(event: str, *, to: User | str, subject: str, template: str, **context) -> EmailMessage | None:
    """Write an outbox row for `to` (unless they opted out of `event`); delivered after commit."""
    user = to if isinstance(to, User) else None
    address = user.email if user else to
    if user is not None and not wants(user, event):
        return None
    context.setdefault("recipient", user)
    message = EmailMessage(
        to_address=address,
        user_id=user.id if user else None,
        subject=subject,
        text_body=render_template(f"mail/{template}.txt", **context),
        html_body=render_template(f"mail/{template}.html", subject=subject, **context),
        event=event,
        status=MailStatus.QUEUED.value,
    )
    db.session.add(message)
    # No flush per message: the use case's own flush inserts all its messages in one statement, and
    # _schedule_flushed then schedules each delivery (after the commit) by the id it got.
    db.session.info.setdefault(_UNSCHEDULED, []).append(message)
    return message


_UNSCHEDULED = "mail_unscheduled"


@event.listens_for(Session, "after_flush")
def _schedule_flushed(session: Session, flush_context) -> None:
    waiting = session.info.get(_UNSCHEDULED)
    if not waiting:
        return
    for message in [m for m in waiting if m.id is not None]:
        waiting.remove(message)
        schedule_delivery(message.id, after_commit=True)


@event.listens_for(Session, "after_soft_rollback")
def _forget_unscheduled(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_UNSCHEDULED, None)


def wants(user: User, event: str) -> bool:
    if event in SECURITY_EVENTS:
        return True
    return (user.notification_preferences or {}).get(event, True) is not False


def schedule_delivery(message_id: int, *, after_commit: bool) -> None:
    """Deliver after the commit that inserted the message (its id is new: no delivery of it can be
    pending, so it goes with its siblings in one round trip), or at once, coalesced with a pending
    one (the sweep's re-drive)."""
    options = {"queue": "mail", "job_id": f"mail-{message_id}",
               "retry": Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS)}
    if after_commit:
        queues.enqueue_after_commit("portal.jobs.tasks.send_email", message_id, fresh_id=True, **options)
    else:
        queues.enqueue_now("portal.jobs.tasks.send_email", message_id, **options)


class DeliveryError(Exception):
    pass


def deliver(message_id: int) -> None:
    """Send one queued message. Already sent: nothing to do. Failure: recorded on the row, re-raised."""
    message = db.session.get(EmailMessage, message_id, with_for_update=True)
    if message is None or message.status == MailStatus.SENT.value:
        db.session.rollback()
        return
    url = current_app.config.get("SMTP_URL")
    message.attempts += 1
    try:
        if url:
            _send_smtp(url, _mime(message))
            message.transport = "smtp"
        else:
            message.transport = "capture"
    except (OSError, smtplib.SMTPException) as err:
        message.last_error = f"{type(err).__name__}: {err}"[:2000]
        if message.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
            message.status = MailStatus.FAILED.value
        db.session.commit()
        log.warning("mail %s to %s failed (attempt %s): %s", message.id, message.to_address,
                    message.attempts, message.last_error)
        raise DeliveryError(message.last_error) from err
    message.status = MailStatus.SENT.value
    message.sent_at = utcnow()
    message.last_error = None
    db.session.commit()


def _mime(message: EmailMessage) -> MimeMessage:
    mime = MimeMessage()
    mime["From"] = current_app.config["MAIL_FROM"]
    mime["To"] = message.to_address
    mime["Subject"] = message.subject
    mime["Message-ID"] = make_msgid(domain="portal.local")
    mime.set_content(message.text_body)
    mime.add_alternative(message.html_body, subtype="html")
    return mime


def _send_smtp(url: str, mime: MimeMessage) -> None:
    """smtp://user:pass@host:587 uses STARTTLS (required unless ?starttls=false); smtps:// is TLS."""
    parts = urlsplit(url)
    options = parse_qs(parts.query)
    starttls = options.get("starttls", ["true"])[0].lower() not in {"false", "0", "no", "off"}
    timeout = float(options.get("timeout", ["30"])[0])
    context = ssl.create_default_context()
    if parts.scheme == "smtps":
        client = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, timeout=timeout, context=context)
    elif parts.scheme == "smtp":
        client = smtplib.SMTP(parts.hostname, parts.port or 587, timeout=timeout)
    else:
        raise smtplib.SMTPException(f"unsupported SMTP_URL scheme {parts.scheme!r}")
    with client:
        client.ehlo()
        if parts.scheme == "smtp" and starttls:
            client.starttls(context=context)
            client.ehlo()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(mime)


def pending_ids() -> list[int]:
    """Messages still to deliver, for the sweep."""
    return list(db.session.scalars(
        db.select(EmailMessage.id).where(EmailMessage.status == MailStatus.QUEUED.value).order_by(EmailMessage.id)
    ))
