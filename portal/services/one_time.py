"""One-time tokens: a public form's signed token sends one referral; a webhook delivery (signature
and timestamp) is accepted once. Spending inserts the token's hash; the unique key makes a second
spend fail, even from two requests at the same moment. Expired rows are purged by the sweep."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from portal import database
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
    digest = hashlib.sha256(f"{purpose}:{token}".encode()).hexdigest()
    # One statement, no savepoint: ON CONFLICT DO NOTHING says whether it was spent before.
    if not database.insert_missing(SpentToken, [{"token_hash": digest, "purpose": purpose,
                                                 "expires_at": utcnow() + timedelta(seconds=lifetime_seconds)}],
                                   conflict_on=["token_hash"]):
        raise AlreadySpent(message)


def purge_expired() -> int:
    """Forget spent tokens that would have expired anyway (the sweep calls this); returns how many went."""
    result = db.session.execute(db.delete(SpentToken).where(SpentToken.expires_at < utcnow()))
    db.session.commit()
    return result.rowcount or 0
