"""OAuth 2 for the Salesforce sandbox (FACTS §2.2): refresh-token and JWT bearer grants.

Access tokens are self-contained (HMAC-signed, with an expiry), so they survive a restart and any
process configured with the same client secret accepts them; nothing is stored.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from crm_sandbox import clock
from crm_sandbox.salesforce import ids
from crm_sandbox.salesforce.errors import OAuthError

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AUDIENCES = {"https://login.salesforce.com", "https://test.salesforce.com"}
MAX_ASSERTION_SECONDS = 300  # Salesforce wants exp "within 3 minutes"; allow clock skew


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(settings: dict) -> bytes:
    return hashlib.sha256(b"crm_sandbox-session:" + settings["SANDBOX_SALESFORCE_CLIENT_SECRET"].encode()).digest()


def issue(settings: dict, instance_url: str, *, username: str, scope: str, refresh: bool) -> dict:
    """The token response Salesforce sends (FACTS §2.2), with instance_url = this sandbox."""
    now_ms = clock.now_ms()
    payload = {"sub": username, "iat": now_ms,
               "exp": now_ms + settings["SANDBOX_SALESFORCE_SESSION_SECONDS"] * 1000,
               "n": secrets.token_hex(4)}
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    signature = _b64(hmac.new(_key(settings), body.encode(), hashlib.sha256).digest())
    identity = f"{instance_url}/id/{ids.ORG_ID}/{ids.USER_ID}"
    issued_at = str(now_ms)
    answer = {
        "access_token": f"{ids.ORG_ID[:15]}!{body}.{signature}",
        "instance_url": instance_url, "id": identity, "token_type": "Bearer",
        "issued_at": issued_at, "scope": scope,
        "signature": base64.b64encode(hmac.new(_key(settings), (identity + issued_at).encode(),
                                               hashlib.sha256).digest()).decode(),
    }
    if refresh:
        answer["scope"] = scope + " refresh_token"
    return answer


def session_valid(settings: dict, token: str, not_before_ms: int) -> bool:
    """True for an unexpired token this sandbox issued after the last forced expiry."""
    _, _, rest = token.partition("!")
    body, _, signature = rest.partition(".")
    if not body or not signature:
        return False
    expected = _b64(hmac.new(_key(settings), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature):
        return False
    try:
        payload = json.loads(_unb64(body))
    except ValueError:
        return False
    now_ms = clock.now_ms()
    return payload.get("exp", 0) > now_ms and payload.get("iat", 0) >= not_before_ms


def refresh_grant(settings: dict, form: dict, basic: tuple[str, str] | None) -> None:
    """Check a refresh_token grant; raises OAuthError like Salesforce does."""
    client_id = form.get("client_id") or (basic[0] if basic else "")
    client_secret = form.get("client_secret") or (basic[1] if basic else "")
    if not hmac.compare_digest(client_id, settings["SANDBOX_SALESFORCE_CLIENT_ID"]):
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if not hmac.compare_digest(client_secret, settings["SANDBOX_SALESFORCE_CLIENT_SECRET"]):
        raise OAuthError("invalid_client", "invalid client credentials")
    if not hmac.compare_digest(form.get("refresh_token", ""), settings["SANDBOX_SALESFORCE_REFRESH_TOKEN"]):
        raise OAuthError("invalid_grant", "expired access/refresh token")


def jwt_grant(settings: dict, assertion: str, sandbox_audience: str) -> str:
    """Verify an RS256 JWT bearer assertion; returns its subject (the username)."""
    certificate = _certificate(settings)
    if certificate is None:
        raise OAuthError("invalid_client", "JWT bearer flow is not configured: set "
                                           "SANDBOX_SALESFORCE_JWT_CERTIFICATE")
    try:
        header_b64, payload_b64, signature_b64 = assertion.split(".")
        header, claims = json.loads(_unb64(header_b64)), json.loads(_unb64(payload_b64))
        signature = _unb64(signature_b64)
    except ValueError:
        raise OAuthError("invalid_grant", "invalid assertion") from None
    if header.get("alg") != "RS256":
        raise OAuthError("invalid_grant", "invalid assertion: alg must be RS256")
    try:
        certificate.verify(signature, f"{header_b64}.{payload_b64}".encode(), padding.PKCS1v15(),
                           hashes.SHA256())
    except InvalidSignature:
        raise OAuthError("invalid_grant", "invalid assertion: signature") from None
    if claims.get("iss") != settings["SANDBOX_SALESFORCE_CLIENT_ID"]:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if claims.get("aud") not in AUDIENCES | {sandbox_audience}:
        raise OAuthError("invalid_grant", "audience is invalid")
    now = clock.now_s()
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or exp <= now:
        raise OAuthError("invalid_grant", "expired authorization code")
    if exp > now + MAX_ASSERTION_SECONDS:
        raise OAuthError("invalid_grant", "invalid assertion: exp must be within 3 minutes")
    username = settings["SANDBOX_SALESFORCE_USERNAME"]
    subject = claims.get("sub") or ""
    if not subject or (username and subject != username):
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    return subject


def _certificate(settings: dict):
    """The configured PEM certificate or public key (the text itself or a path to it)."""
    text = settings["SANDBOX_SALESFORCE_JWT_CERTIFICATE"].strip()
    if not text:
        return None
    if "-----BEGIN" not in text and os.path.exists(text):
        with open(text, "rb") as handle:
            text = handle.read().decode()
    data = text.encode()
    if b"CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return serialization.load_pem_public_key(data)
