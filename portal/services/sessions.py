"""Server-side sessions: started at sign-in, checked on every request, ended for real at sign-out.

The session cookie and the remember-me cookie carry only a random token; its hash is a row here.
Ending the row (sign-out, "sign out everywhere", the idle or absolute timeout, a password change)
is what makes an old cookie worthless, wherever it was copied to.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam
from sqlalchemy.orm import joinedload, undefer

from portal import database
from portal.extensions import db
from portal.models import User, UserSession
from portal.models.types import utcnow
from portal.services import read_cache

# Writing "last seen" on every request would turn each page view into a write.
_TOUCH_EVERY = timedelta(seconds=60)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def start(user: User, *, remember: bool = False, user_agent: str = "", address: str = "") -> str:
    """Begin a session for `user` (after every sign-in step); returns the token the cookie carries."""
    raw = secrets.token_urlsafe(32)
    db.session.add(UserSession(user=user, token_hash=_digest(raw), generation=user.session_token, remember=remember,
                               user_agent=(user_agent or "")[:200], address=(address or "")[:64]))
    user.last_login_at = utcnow()
    db.session.commit()
    user.current_session_token = raw
    return raw


def _limits(row: UserSession) -> tuple[timedelta, timedelta]:
    config = current_app.config
    if row.remember:
        return (timedelta(seconds=config["REMEMBER_IDLE_TIMEOUT"]),
                timedelta(seconds=config["REMEMBER_COOKIE_DURATION"]))
    return timedelta(seconds=config["SESSION_IDLE_TIMEOUT"]), timedelta(seconds=config["SESSION_ABSOLUTE_TIMEOUT"])


# Every request runs this query: built once, since building a statement costs more than running it.
# The read cache's stamps come with the session's row, and the navigation's unread count with the
# user: one round trip for all three.
_RESUME = (db.select(UserSession, read_cache.stamps_column())
           .where(UserSession.token_hash == bindparam("token_hash"))
           .options(joinedload(UserSession.user).options(undefer(User.unread_notifications))))


def resume(raw: str) -> User | None:
    """The user of a live session, or None when it ended, timed out, or the user may no longer sign in."""
    found = db.session.execute(_RESUME, {"token_hash": _digest(raw or "")}).first()
    row = found[0] if found is not None else None
    if found is not None:
        read_cache.prime(found[1])
    if row is None or row.ended_at is not None:
        return None
    user, now = row.user, utcnow()
    idle, absolute = _limits(row)
    if (row.generation != user.session_token or not user.is_active or now - row.last_seen_at > idle
            or now - row.created_at > absolute):
        _write(row, ended_at=now)
        return None
    if now - row.last_seen_at > _TOUCH_EVERY:
        _write(row, last_seen_at=now)
        user = row.user
    user.current_session_token = raw
    return user


def _write(row: UserSession, **values) -> None:
    # Resuming runs on every request, GETs included: a GET that writes takes the lock first.
    database.take_write_lock()
    for name, value in values.items():
        setattr(row, name, value)
    db.session.commit()


def end(raw: str | None) -> None:
    """Sign-out: this session's cookies stop working."""
    row = db.session.scalar(db.select(UserSession).where(UserSession.token_hash == _digest(raw or "")))
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        db.session.commit()


def end_all(user: User) -> int:
    """Sign out everywhere: every session of `user` ends, this one included. Returns how many."""
    now = utcnow()
    rows = list(db.session.scalars(db.select(UserSession).where(UserSession.user_id == user.id,
                                                                UserSession.ended_at.is_(None))))
    for row in rows:
        row.ended_at = now
    user.session_token = secrets.token_hex(16)
    db.session.commit()
    return len(rows)


def list_for(user: User) -> list[UserSession]:
    """The user's sessions that still work, most recently used first."""
    rows = db.session.scalars(db.select(UserSession).where(UserSession.user_id == user.id,
                                                           UserSession.ended_at.is_(None),
                                                           UserSession.generation == user.session_token)
                              .order_by(UserSession.last_seen_at.desc()))
    now = utcnow()
    return [r for r in rows if now - r.last_seen_at <= _limits(r)[0] and now - r.created_at <= _limits(r)[1]]


def is_current(row: UserSession, raw: str | None) -> bool:
    return raw is not None and row.token_hash == _digest(raw)
