"""The steps of a sign-in: the password, then (when the user has or needs one) the second factor.

Between the two steps the signed session cookie holds only who passed the password step and when;
nobody is signed in until the second step succeeds, and the pending step expires.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, redirect, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import login_user

from portal import clock
from portal.models import User
from portal.services import accounts, mfa, sessions

PENDING = "mfa_pending"


def safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def after_password(user: User, *, remember: bool, next_url: str | None):
    """The password was right: sign in, or go on to the code step (or to enrolment when required)."""
    next_url = safe_next(next_url)
    if not (mfa.enrolled(user) or mfa.required_for(user)):
        return finish(user, remember=remember, next_url=next_url)
    session[PENDING] = {"user_id": user.id, "remember": bool(remember), "next": next_url,
                        "at": clock.timestamp(), "generation": user.session_token}
    return redirect(url_for("auth.login_code" if mfa.enrolled(user) else "auth.login_enrol"), code=303)


def pending_user() -> User | None:
    """Who passed the password step in this browser, if that was recent and nothing changed since."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    if clock.timestamp() - float(pending.get("at", 0)) > current_app.config["MFA_PENDING_MAX_AGE"]:
        session.pop(PENDING, None)
        return None
    user = accounts.get(pending.get("user_id"))
    if user is None or not user.is_active or user.session_token != pending.get("generation"):
        return None
    return user


def pending_key() -> str:
    """The code step's rate-limit key: per address and account, like the password step's."""
    pending = session.get(PENDING) if isinstance(session.get(PENDING), dict) else {}
    return f"{get_remote_address()}|mfa|{pending.get('user_id', '')}"


def begin_session(user: User, *, remember: bool) -> None:
    sessions.start(user, remember=remember, user_agent=request.user_agent.string, address=get_remote_address() or "")
    login_user(user, remember=remember)


def finish(user: User, *, remember: bool | None = None, next_url: str | None = None):
    """Both steps done: a server-side session begins; off to where the user was going."""
    pending = session.pop(PENDING, None) or {}
    remember = pending.get("remember", False) if remember is None else remember
    next_url = next_url or pending.get("next")
    begin_session(user, remember=remember)
    return redirect(next_url or url_for("home"), code=303)
