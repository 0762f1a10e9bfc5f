"""Organizations, users and the one-time tokens that let them in."""
from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.types import UTCDateTime, utcnow


class OrgKind(str, enum.Enum):
    VENDOR = "vendor"
    PARTNER = "partner"
    DISTRIBUTOR = "distributor"


class OrgStatus(str, enum.Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"


class Role(str, enum.Enum):
    ADMIN = "admin"
    MANAGER = "manager"
    SALES = "sales"
    PARTNER_ADMIN = "partner_admin"
    PARTNER_USER = "partner_user"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ADMIN: "Administrator",
    Role.MANAGER: "Partner manager",
    Role.SALES: "Sales",
    Role.PARTNER_ADMIN: "Partner administrator",
    Role.PARTNER_USER: "Partner user",
}
INTERNAL_ROLES = (Role.ADMIN, Role.MANAGER, Role.SALES)
PARTNER_ROLES = (Role.PARTNER_ADMIN, Role.PARTNER_USER)
TIERS = ("registered", "silver", "gold", "platinum")


class Organization(db.Model):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20), default=OrgStatus.ACTIVE.value, index=True)
    tier: Mapped[str | None] = mapped_column(String(40), index=True)
    domain: Mapped[str | None] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(2))
    # Chosen by the partner's admins: may partner users see all of the organization's referrals?
    members_see_all_referrals: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Chosen by the partner's admins: must every member sign in with a second factor?
    mfa_required: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    users: Mapped[list["User"]] = relationship(back_populates="organization", order_by="User.name")

    @property
    def is_active(self) -> bool:
        return self.status == OrgStatus.ACTIVE.value

    @property
    def is_vendor(self) -> bool:
        return self.kind == OrgKind.VENDOR.value

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.kind} {self.name!r}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    # Null until an invited user chooses a password.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Flask-Login's session id; rotating it on a password change signs out every other session.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=lambda: secrets.token_hex(16))
    notification_preferences: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # TOTP (RFC 6238): the shared secret, encrypted at rest; null until the user has enrolled.
    mfa_secret_encrypted: Mapped[str | None] = mapped_column(String(500))
    mfa_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last time step a code was accepted for: the same code cannot be used twice.
    mfa_last_step: Mapped[int | None] = mapped_column()

    # Every page shows and checks the user's organization: load it with the user, in one query.
    organization: Mapped[Organization] = relationship(back_populates="users", lazy="joined")

    def get_id(self) -> str:
        # Flask-Login keeps this in the session and the remember cookie: the server-side session's
        # token (portal.services.sessions), set when the session starts or is resumed.
        token = getattr(self, "current_session_token", None)
        if not token:
            raise RuntimeError("start a session (portal.services.sessions.start) before login_user()")
        return token

    @property
    def is_active(self) -> bool:
        return self.active and self.organization.is_active

    @property
    def is_internal(self) -> bool:
        return self.role in {r.value for r in INTERNAL_ROLES}

    @property
    def is_partner(self) -> bool:
        return self.role in {r.value for r in PARTNER_ROLES}

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value

    @property
    def is_partner_admin(self) -> bool:
        return self.role == Role.PARTNER_ADMIN.value

    @property
    def invitation_pending(self) -> bool:
        return self.password_hash is None

    @property
    def role_label(self) -> str:
        return Role(self.role).label

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class RecoveryCode(db.Model):
    """One of a user's ten one-time MFA recovery codes: only its hash is kept."""

    __tablename__ = "mfa_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuthToken(db.Model):
    """A password-reset or invitation token: only its hash is stored, it expires and works once."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()
