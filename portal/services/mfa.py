"""Second factor: TOTP (RFC 6238, pyotp) with ten one-time recovery codes.

Required for the roles in MFA_REQUIRED_ROLES (internal admins and managers by default, enrolment at
their next sign-in) and for every member of a partner organization whose admins require it;
optional for everyone else. Codes are checked once: the accepted time step is remembered, and a
recovery code is spent when used. Only hashes of recovery codes are stored; the TOTP secret is
encrypted at rest.
"""
from __future__ import annotations

import base64
import hashlib
import secrets

import pyotp
from cryptography.fernet import Fernet
from flask import current_app

from portal import clock
from portal.errors import DomainError
from portal.extensions import db
from portal.models import Organization, RecoveryCode, User
from portal.models.types import utcnow
from portal.services import audit

RECOVERY_CODES = 10
ISSUER = "Referral Portal"
_WRONG_CODE = "That code is not right. Enter the current code from your app, or a recovery code."


def required_for(user: User) -> bool:
    roles = {r.strip() for r in current_app.config["MFA_REQUIRED_ROLES"].split(",") if r.strip()}
    return user.role in roles or (user.is_partner and user.organization.mfa_required)


def enrolled(user: User) -> bool:
    return user.mfa_secret_encrypted is not None


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"portal-mfa-secrets:" + current_app.config["SECRET_KEY"].encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _code_hash(code: str) -> str:
    return hashlib.sha256(_normal(code).encode()).hexdigest()


def _normal(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isascii() and ch.isalnum())


def _matching_step(secret: str, code: str) -> int | None:
    """The time step `code` belongs to (now, or one step either side for clock drift), or None."""
    totp, now = pyotp.TOTP(secret), int(clock.timestamp())
    digits = _normal(code)
    for offset in (0, -1, 1):
        at = now + offset * totp.interval
        if secrets.compare_digest(totp.at(at), digits):
            return at // totp.interval
    return None


def enrol(user: User, *, secret: str, code: str) -> list[str]:
    """Turn MFA on with `secret` once the user proves their app has it. Returns the recovery codes
    (shown once). Raises DomainError for a wrong code."""
    step = _matching_step(secret, code)
    if step is None:
        raise DomainError("That code does not match. Scan the code again and enter the six digits shown.",
                          field="code")
    user.mfa_secret_encrypted = _fernet().encrypt(secret.encode()).decode()
    user.mfa_enrolled_at = utcnow()
    user.mfa_last_step = step
    codes = _replace_recovery_codes(user)
    audit.record(user, "mfa.enrolled", before={"enrolled": False}, after={"enrolled": True}, actor=user)
    db.session.commit()
    return codes


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_code_hash(c)) for c in codes)
    return codes


def verify(user: User, code: str) -> str:
    """Check the second step of a sign-in. Returns "totp" or "recovery" (a recovery code is spent).
    Raises DomainError for a wrong, reused or spent code."""
    secret = _fernet().decrypt(user.mfa_secret_encrypted.encode()).decode()
    step = _matching_step(secret, code)
    if step is not None:
        if user.mfa_last_step is not None and step <= user.mfa_last_step:
            raise DomainError("That code was used already. Wait for the next one.", field="code")
        user.mfa_last_step = step
        db.session.commit()
        return "totp"
    recovery = db.session.scalar(db.select(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                                RecoveryCode.code_hash == _code_hash(code),
                                                                RecoveryCode.used_at.is_(None)))
    if recovery is None:
        raise DomainError(_WRONG_CODE, field="code")
    recovery.used_at = utcnow()
    db.session.commit()
    return "recovery"


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(RecoveryCode)
                             .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))


def reset(user: User, *, by: User) -> None:
    """Another admin clears a user's second factor (lost phone): they enrol again at their next
    sign-in, and their sessions end. Recorded in the audit trail. Raises DomainError."""
    if not by.is_admin:
        raise DomainError("Only an administrator can reset a second factor.")
    if user.id == by.id:
        raise DomainError("Another administrator has to reset your own second factor.")
    if not enrolled(user):
        raise DomainError(f"{user.name} has no second factor to reset.")
    user.mfa_secret_encrypted = None
    user.mfa_enrolled_at = None
    user.mfa_last_step = None
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    user.session_token = secrets.token_hex(16)
    audit.record(user, "mfa.reset", before={"enrolled": True}, after={"enrolled": False}, actor=by)
    db.session.commit()


def set_organization_requirement(organization: Organization, required: bool, *, by: User) -> None:
    """A partner's admins require (or stop requiring) a second factor of every member."""
    if not (by.is_partner_admin and by.organization_id == organization.id):
        raise DomainError("Only this organization's administrators can change that.")
    organization.mfa_required = required
    db.session.commit()
