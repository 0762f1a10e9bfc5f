"""CRM credentials at rest: tokens and webhook secrets are Fernet-encrypted with CRM_ENCRYPTION_KEY
(or a key derived from SECRET_KEY), and decrypted only when a connector is built."""
from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from portal.errors import DomainError


def _fernet() -> Fernet:
    key = current_app.config.get("CRM_ENCRYPTION_KEY")
    if key:
        return Fernet(key.encode() if isinstance(key, str) else key)
    # Derived from SECRET_KEY (domain-separated), so a deployment needs no extra setting.
    digest = hashlib.sha256(b"portal-crm-credentials:" + current_app.config["SECRET_KEY"].encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(plain: str | None) -> str | None:
    return _fernet().encrypt(plain.encode()).decode() if plain else None


def decrypt(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as err:
        raise DomainError("The stored CRM credentials cannot be read (was the key changed?). "
                          "Enter the token again.", field="token") from err


def token(connection) -> str:
    plain = decrypt(connection.token_encrypted)
    if not plain:
        raise DomainError("This connection has no token yet.", field="token")
    return plain


def webhook_secret(connection) -> str | None:
    return decrypt(connection.webhook_secret_encrypted)
