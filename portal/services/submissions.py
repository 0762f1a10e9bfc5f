"""One-time submission keys: the second post of a create form answers with the first one's result.

A create form carries a random key (portal/web/forms.py, `SubmitOnce`). Its first post claims the
key (a row, committed at once), does its work, and records where it led; a second post of the same
key — a double click, a resent request — waits while the first one runs and then answers with the
same redirect, creating nothing. A first post that failed (the form had errors) releases its key,
so the corrected form goes through.
"""
from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from portal import database
from portal.errors import DomainError
from portal.extensions import db
from portal.models import SubmissionKey
from portal.models.types import utcnow

_KEY = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
# How long a second post waits for the first one to finish, and when a claim counts as abandoned
# (its request died before it could say how it ended).
WAIT_SECONDS = 30.0
ABANDONED_AFTER = timedelta(minutes=2)
KEEP_FOR = timedelta(days=2)
_POLL_SECONDS = 0.05


class StillRunning(DomainError):
    """The first post of this form has not finished after WAIT_SECONDS."""

    status_code = 409

    def __init__(self):
        super().__init__("This form is still being sent. Wait a moment, then look for the result before "
                         "sending it again.")


@dataclass(frozen=True)
class Claim:
    """`mine`: this post does the work (`tracked`: and says how it ended). Otherwise `location` is
    where the first post led (None if that one is still running after WAIT_SECONDS)."""
    mine: bool
    location: str | None = None
    tracked: bool = True


def new_key() -> str:
    return secrets.token_urlsafe(32)


def is_key(value: str | None) -> bool:
    return bool(value) and bool(_KEY.match(value))


def claim(key: str, *, user_id: int | None) -> Claim:
    """Claim `key` for this post, or wait for the post that has it and return where it led.
    Raises StillRunning if that one takes longer than WAIT_SECONDS."""
    database.take_write_lock()
    inserted = database.insert_missing(SubmissionKey, [{"key": key, "user_id": user_id, "state": "pending",
                                                        "created_at": utcnow()}], conflict_on=["key"])
    db.session.commit()
    if inserted:
        return Claim(mine=True)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        with database.reading():
            row = db.session.get(SubmissionKey, key, populate_existing=True)
        if row is None:
            # Released meanwhile (the first post had errors): this post is the first now.
            db.session.rollback()
            return claim(key, user_id=user_id)
        if row.user_id != user_id:
            db.session.rollback()
            return Claim(mine=True, tracked=False)  # someone else's key: no replay of their result
        if row.state == "done":
            location = row.location
            db.session.rollback()
            return Claim(mine=False, location=location)
        if row.created_at < utcnow() - ABANDONED_AFTER:
            db.session.rollback()
            database.take_write_lock()
            db.session.execute(db.update(SubmissionKey).where(SubmissionKey.key == key)
                               .values(created_at=utcnow()))
            db.session.commit()
            return Claim(mine=True)
        db.session.rollback()
        if time.monotonic() > deadline:
            raise StillRunning()
        time.sleep(_POLL_SECONDS)


def finish(key: str, *, location: str) -> None:
    """The first post succeeded and led to `location`: later posts of the key answer with it."""
    db.session.execute(db.update(SubmissionKey).where(SubmissionKey.key == key)
                       .values(state="done", location=location[:2000]))
    db.session.commit()


def release(key: str) -> None:
    """The first post did not go through (errors to correct): the key may be used again."""
    db.session.rollback()
    db.session.execute(db.delete(SubmissionKey).where(SubmissionKey.key == key, SubmissionKey.state == "pending"))
    db.session.commit()


def purge_old() -> int:
    """Forget keys older than KEEP_FOR (the sweep calls this); returns how many went."""
    result = db.session.execute(db.delete(SubmissionKey).where(SubmissionKey.created_at < utcnow() - KEEP_FOR))
    db.session.commit()
    return result.rowcount or 0
