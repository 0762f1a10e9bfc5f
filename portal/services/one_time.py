"""One-time tokens: a public form's signed token sends one referral; a webhook delivery (signature
and timestamp) is accepted once. Spending inserts the token's hash; the unique key makes a second
spend fail, even from two requests at the same moment. Expired rows are purged by the sweep."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import bindparam

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
    values = {"token_hash": digest, "purpose": purpose, "expires_at": utcnow() + timedelta(seconds=lifetime_seconds)}
    if db.session.execute(_SPEND, values).first() is None:
        raise AlreadySpent(message)


# One statement, no savepoint: ON CONFLICT DO NOTHING says whether it was spent before (RETURNING
# gives no row). Text, in the syntax PostgreSQL and SQLite share: SQLAlchemy does not cache the
# compiled form of an ON CONFLICT insert, and compiling it cost more than the insert.
_SPEND = db.text("INSERT INTO spent_tokens (token_hash, purpose, expires_at) VALUES (:token_hash, :purpose, :expires_at)"
                 " ON CONFLICT (token_hash) DO NOTHING RETURNING token_hash").bindparams(
    bindparam("expires_at", type_=SpentToken.__table__.c.expires_at.type))


def purge_expired() -> int:
    """Forget spent tokens that would have expired anyway (the sweep calls this); returns how many went."""
    result = db.session.execute(db.delete(SpentToken).where(SpentToken.expires_at < utcnow()))
    db.session.commit()
    return result.rowcount or 0
