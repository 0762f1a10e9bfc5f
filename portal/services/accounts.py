"""Users: signing in, password resets, invitations and profiles."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from portal.jobs import mail
from portal.errors import DomainError, InvalidToken
from portal.extensions import db
from portal.models import AuthToken, Organization, Role, User
from portal.models.accounts import INTERNAL_ROLES, PARTNER_ROLES
from portal.models.types import utcnow
from portal.services.crm import org_sync, scheduling
from portal.urls import absolute_url

MIN_PASSWORD_LENGTH = 10
RESET = "reset"
INVITE = "invite"
_LOGIN_FAILED = "Invalid email or password."


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def check_password_rules(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise DomainError(f"Use at least {MIN_PASSWORD_LENGTH} characters.", field="password")
    if password.strip() == "" or len(set(password)) < 4:
        raise DomainError("Choose a password that is harder to guess.", field="password")


def get(user_id) -> User | None:
    """The user with this id, or None (an id from a session or a token is not trusted to be an int)."""
    try:
        return db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None


def find_by_email(email: str) -> User | None:
    return db.session.scalar(db.select(User).where(User.email == normalize_email(email)))


# ---- sign in --------------------------------------------------------------------------------

def authenticate(email: str, password: str) -> User:
    """Check credentials. Raises DomainError with one message whether or not the email exists."""
    user = find_by_email(email)
    # Hash even for an unknown email, so response time does not reveal which emails exist.
    stored = user.password_hash if user and user.password_hash else _dummy_hash()
    if not check_password_hash(stored, password or "") or user is None or user.password_hash is None:
        raise DomainError(_LOGIN_FAILED)
    if not user.is_active:
        raise DomainError("This account is not active. Please contact your partner manager.")
    return user


def record_login(user: User) -> None:
    """Note the sign-in time."""
    user.last_login_at = utcnow()
    db.session.commit()


def _dummy_hash() -> str:
    cache = current_app.extensions.setdefault("portal_dummy_hash", {})
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in cache:
        cache[method] = generate_password_hash(secrets.token_hex(8), method=method)
    return cache[method]


# ---- tokens ---------------------------------------------------------------------------------

def _issue_token(user: User, purpose: str, max_age: int) -> str:
    raw = secrets.token_urlsafe(32)
    db.session.add(AuthToken(user=user, purpose=purpose, token_hash=_digest(raw),
                             expires_at=utcnow() + timedelta(seconds=max_age)))
    return raw


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_user(raw: str, purpose: str) -> AuthToken:
    """The live token for `raw`. Raises InvalidToken if unknown, used or expired."""
    token = db.session.scalar(db.select(AuthToken).where(AuthToken.token_hash == _digest(raw or ""),
                                                         AuthToken.purpose == purpose))
    if token is None or token.used_at is not None or token.expires_at <= utcnow():
        raise InvalidToken("This link is invalid or has expired. Please ask for a new one.")
    return token


def _consume(token: AuthToken, new_password: str) -> User:
    check_password_rules(new_password)
    user = token.user
    token.used_at = utcnow()
    user.password_hash = hash_password(new_password)
    user.session_token = secrets.token_hex(16)  # signs out every other session
    # Any other outstanding token for the same purpose dies with this one.
    for other in db.session.scalars(db.select(AuthToken).where(AuthToken.user_id == user.id,
                                                               AuthToken.used_at.is_(None))):
        other.used_at = token.used_at
    return user


def request_password_reset(email: str) -> None:
    """Mail a reset link if the email belongs to an active user; silent otherwise."""
    user = find_by_email(email)
    if user is None or not user.is_active or user.password_hash is None:
        return
    raw = _issue_token(user, RESET, current_app.config["PASSWORD_RESET_MAX_AGE"])
    mail.queue("password_reset", to=user, subject="Reset your Referral Portal password",
               template="password_reset", user=user, link=absolute_url("auth.reset_password", token=raw),
               minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60)
    db.session.commit()


def reset_password(raw_token: str, new_password: str) -> User:
    """Set a new password from a reset link. Raises InvalidToken or a password-rule DomainError."""
    user = _consume(token_user(raw_token, RESET), new_password)
    db.session.commit()
    return user


# ---- invitations ----------------------------------------------------------------------------

def invitable_roles(inviter: User) -> list[Role]:
    if inviter.is_admin:
        return [*INTERNAL_ROLES, *PARTNER_ROLES]
    if inviter.is_partner_admin:
        return list(PARTNER_ROLES)
    return []


def invite(*, by: User, organization: Organization, email: str, name: str, role: str) -> User:
    """Create a user without a password and mail them a link to choose one.

    Internal admins invite anyone; partner admins only into their own organization.
    """
    allowed = {r.value for r in invitable_roles(by)}
    if not allowed:
        raise DomainError("You cannot invite users.")
    if by.is_partner and organization.id != by.organization_id:
        raise DomainError("You can only invite people to your own organization.")
    if role not in allowed:
        raise DomainError("Choose a role you are allowed to give.", field="role")
    internal_role = role in {r.value for r in INTERNAL_ROLES}
    if internal_role != organization.is_vendor:
        raise DomainError("That role does not fit this organization.", field="role")
    user = _add_user(organization=organization, email=email, name=name, role=role)
    _send_invitation(user, inviter=by)
    org_sync.mark_user_dirty(user)
    db.session.commit()
    return user


def resend_invitation(user: User, *, by: User) -> None:
    """Mail a fresh invitation link to a user who has not chosen a password yet."""
    if not user.invitation_pending:
        raise DomainError("This user has already accepted the invitation.")
    _send_invitation(user, inviter=by)
    db.session.commit()


def add_invited(*, organization: Organization, email: str, name: str, role: str, inviter: User) -> User:
    """Add a user without a password and queue their invitation, in the caller's transaction
    (an approved partner application creates its organization, admin and link in one commit)."""
    user = _add_user(organization=organization, email=email, name=name, role=role)
    _send_invitation(user, inviter=inviter)
    org_sync.mark_user_dirty(user)
    return user


def _add_user(*, organization: Organization, email: str, name: str, role: str) -> User:
    """A new user without a password, inserted in the caller's transaction. Raises DomainError when
    the email is taken, also when someone else took it a moment ago (two admins inviting the same
    person at once: the second's insert meets the unique email and is rolled back alone)."""
    taken = DomainError("A user with this email already exists.", field="email")
    if find_by_email(email):
        raise taken
    db.session.flush()  # the organization may be new in this transaction (an approved application)
    # By id, not through the relationship: that would put the user in the organization's collection,
    # where a rolled-back insert would stay behind.
    user = User(organization_id=organization.id, email=normalize_email(email), name=name.strip(), role=role)
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        raise taken from None
    return user


def _send_invitation(user: User, *, inviter: User) -> None:
    raw = _issue_token(user, INVITE, current_app.config["INVITATION_MAX_AGE"])
    mail.queue("invitation", to=user, subject=f"{inviter.name} invited you to the Referral Portal",
               template="invitation", user=user, inviter=inviter,
               link=absolute_url("auth.accept_invitation", token=raw))


def accept_invitation(raw_token: str, new_password: str) -> User:
    """Choose a password from an invitation link. Raises InvalidToken or a password-rule DomainError."""
    user = _consume(token_user(raw_token, INVITE), new_password)
    db.session.commit()
    return user


# ---- users ----------------------------------------------------------------------------------

def create_user(*, organization: Organization, email: str, name: str, role: str, password: str) -> User:
    """Create a user with a password at once (CLI and seeding)."""
    if find_by_email(email):
        raise DomainError("A user with this email already exists.", field="email")
    if role not in {r.value for r in Role}:
        raise DomainError("Unknown role.", field="role")
    check_password_rules(password)
    user = User(organization=organization, email=normalize_email(email), name=name.strip(), role=role,
                password_hash=hash_password(password))
    db.session.add(user)
    org_sync.mark_user_dirty(user)
    db.session.commit()
    return user


def update_profile(user: User, *, name: str, notification_preferences: dict[str, bool]) -> User:
    """Change one's own name and email notification choices."""
    user.name = name.strip()
    user.notification_preferences = {**(user.notification_preferences or {}), **notification_preferences}
    org_sync.mark_user_dirty(user)
    db.session.commit()
    return user


def change_password(user: User, *, current_password: str, new_password: str) -> User:
    """Change one's own password; the current one must be given. Other sessions are signed out."""
    if not user.password_hash or not check_password_hash(user.password_hash, current_password or ""):
        raise DomainError("That is not your current password.", field="current_password")
    check_password_rules(new_password)
    user.password_hash = hash_password(new_password)
    user.session_token = secrets.token_hex(16)
    db.session.commit()
    return user


def set_active(user: User, active: bool, *, by: User) -> User:
    """Deactivate or reactivate a user (internal admins; partner admins within their organization)."""
    if user.id == by.id:
        raise DomainError("You cannot deactivate yourself.")
    user.active = active
    if not active:
        user.session_token = secrets.token_hex(16)
    org_sync.mark_user_dirty(user)
    db.session.commit()
    return user


# ---- from a CRM (organization sync) -------------------------------------------------------------

def apply_crm_change(user: User, *, fields: dict, status: str | None = None, reason: str | None = None,
                     amount=None, actor_label: str, connection_id: int) -> list[str]:
    """A CRM's change to a synced partner user (name, email, active in the portal) in one commit;
    nothing goes back to that connection. Raises DomainError (nothing changes) for an email that
    belongs to another user or values the portal cannot take."""
    if not user.is_partner:
        raise DomainError("Only partner users are synced.")
    planned = _from_crm(fields, actor_label, current=user)
    with scheduling.pulling(connection_id):
        changed = [name for name, value in planned.items() if getattr(user, name) != value]
        for name in changed:
            setattr(user, name, planned[name])
        if "active" in changed and not user.active:
            user.session_token = secrets.token_hex(16)  # signed out, as a deactivation by a person
        if changed:
            org_sync.mark_user_dirty(user)
        db.session.commit()
    return changed


def create_from_crm(*, organization: Organization, fields: dict, actor_label: str, connection_id: int,
                    link=None) -> User:
    """A person on a synced CRM account whom the portal does not know: a partner user of that
    organization without a password (an admin invites them when they choose); the organization's
    user of that email if there is one. `link(user)` records the CRM link in the same commit. Raises
    DomainError (nothing is created) for a missing email or one another organization's user holds."""
    planned = _from_crm(fields, actor_label, current=None)
    if not planned.get("email"):
        raise DomainError(f"The {actor_label} contact has no email; the portal needs one to invite them.")
    existing = find_by_email(planned["email"])
    if existing is not None:
        if existing.organization_id != organization.id:
            raise DomainError(f"{planned['email']} is already a user of another organization "
                              f"({existing.organization.name}).")
        if link is not None:
            link(existing, created=False)
        db.session.commit()
        return existing
    user = User(organization=organization, role=Role.PARTNER_USER.value, **planned)
    with scheduling.pulling(connection_id):
        db.session.add(user)
        db.session.flush()
        if link is not None:
            link(user)
        org_sync.mark_user_dirty(user)
        db.session.commit()
    return user


def _from_crm(fields: dict, actor_label: str, *, current: User | None) -> dict:
    planned = {}
    if "email" in fields:
        email = normalize_email(fields["email"])
        if not email or "@" not in email:
            raise DomainError(f"{actor_label}'s contact email {fields['email']!r} is not an address.")
        other = find_by_email(email)
        if current is not None and other is not None and other.id != current.id:
            raise DomainError(f"{email} already belongs to another user.")
        planned["email"] = email
    if fields.get("name"):
        planned["name"] = str(fields["name"]).strip()[:200]
    elif "first_name" in fields or "last_name" in fields:
        # A CRM keeps first and last names apart; the portal one name ("Ada King Lovelace").
        words = (current.name if current is not None else "").split()
        first = fields["first_name"] if "first_name" in fields else " ".join(words[:-1])
        last = fields["last_name"] if "last_name" in fields else " ".join(words[-1:])
        name = " ".join(str(n).strip() for n in (first, last) if n and n != "(unknown)")
        planned["name"] = name[:200] or (current.name if current is not None else "(unknown)")
    elif current is None:
        planned["name"] = planned.get("email", "(unknown)")
    if "active" in fields and fields["active"] not in (None, ""):
        planned["active"] = str(fields["active"]).strip().lower() in ("true", "1", "yes")
    return planned


def owner_candidates() -> list[User]:
    """Internal users who can own a referral: active, with a password chosen, by name."""
    return list(db.session.scalars(db.select(User).join(User.organization).where(
        Organization.kind == "vendor", User.active.is_(True), User.password_hash.is_not(None)).order_by(User.name)))


def list_users(*, organization_id: int | None = None, q: str = "", page: int = 1, per_page: int = 25):
    query = db.select(User).join(User.organization).order_by(User.name, User.id)
    if organization_id:
        query = query.where(User.organization_id == organization_id)
    if q:
        like = f"%{q.strip().lower()}%"
        query = query.where(db.or_(db.func.lower(User.name).like(like), User.email.like(like)))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)
