"""One-time tokens: a public form's signed token sends one referral; a webhook delivery (signature
and timestamp) is accepted once. Spending inserts the token's hash; the unique key makes a second
spend fail, even from two requests at the same moment."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from portal.errors import DomainError
from portal.extensions import db
from portal.models import SpentToken
from portal.models.types import utcnow


class AlreadySpent(DomainError):
    status_code = 409


def spend(token: str, *, purpose: str, lifetime_seconds: float,
          message: str = "This form was sent already. Reload the page to send another.") -> None:
    """Mark `token` used, in the caller's transaction (it commits with the use case it guards).
    Raises AlreadySpent if it was used before."""
    now = utcnow()
    digest = hashlib.sha256(f"{purpose}:{token}".encode()).hexdigest()
    db.session.execute(db.delete(SpentToken).where(SpentToken.expires_at < now))
    try:
        with db.session.begin_nested():
            db.session.add(SpentToken(token_hash=digest, purpose=purpose,
                                      expires_at=now + timedelta(seconds=lifetime_seconds)))
    except IntegrityError:
        raise AlreadySpent(message) from None
