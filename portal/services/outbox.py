"""The mail the portal queued, read back for the development mail viewer (`/dev/mail`)."""
from __future__ import annotations

from portal.errors import NotFound
from portal.extensions import db
from portal.models import EmailMessage


def recent(*, limit: int = 200) -> list[EmailMessage]:
    """The newest messages first."""
    return list(db.session.scalars(db.select(EmailMessage).order_by(EmailMessage.id.desc()).limit(limit)))


def message(message_id: int) -> EmailMessage:
    """One message by id. Raises NotFound."""
    found = db.session.get(EmailMessage, message_id)
    if found is None:
        raise NotFound()
    return found
