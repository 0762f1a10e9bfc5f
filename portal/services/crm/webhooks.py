"""CRM webhooks: verify the signature with the provider's connector, then pull the connection early."""
from __future__ import annotations

import hashlib

from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.models import CrmConnection
from portal.services import one_time
from portal.services.crm import scheduling
from portal.sync import connectors, credentials


class InvalidSignature(DomainError):
    status_code = 401


def receive_webhook(provider: str, *, method: str, urls: list[str], body: bytes, headers) -> int:
    """Verify the request's signature against every active connection's secret of that provider
    (HubSpot: signature v3, FACTS §1.11); a valid one triggers an early pull of that connection.
    Raises NotFound for an unknown provider, InvalidSignature otherwise (nothing changes)."""
    if provider not in connectors.CONNECTORS or not hasattr(connectors.get(provider), "verify_webhook"):
        raise NotFound()  # a connector without webhooks (Salesforce: it pulls every minute)
    connector = connectors.get(provider)
    candidates = list(db.session.scalars(db.select(CrmConnection).where(
        CrmConnection.active.is_(True), CrmConnection.provider == provider,
        CrmConnection.webhook_secret_encrypted.is_not(None))))
    matched = [c for c in candidates
               if connector.verify_webhook(credentials.webhook_secret(c) or "", method=method, urls=urls, body=body,
                                           headers=headers)]
    if not matched:
        raise InvalidSignature(f"Invalid or expired {connector.label} signature.")
    # A delivery (its signature and timestamp) is accepted once: a replay within the signature's
    # lifetime pulls nothing (issue #15). Spent only once verified, so junk fills no table.
    try:
        one_time.spend(_delivery(provider, body, headers), purpose="webhook", lifetime_seconds=3600)
        db.session.commit()
    except one_time.AlreadySpent:
        return 0
    for connection in matched:
        scheduling.schedule_pull(connection.id)
    return len(matched)


def _delivery(provider: str, body: bytes, headers) -> str:
    """What identifies one delivery: the provider, the body and its signature and timestamp headers."""
    signed = sorted(f"{name.lower()}={value}" for name, value in headers.items()
                    if "signature" in name.lower() or "timestamp" in name.lower())
    return hashlib.sha256(b"\n".join([provider.encode(), *(s.encode() for s in signed), body])).hexdigest()
