"""HubSpot webhooks: verify the signature, then pull the connection early."""
from __future__ import annotations

from portal.errors import DomainError
from portal.extensions import db
from portal.models import CrmConnection
from portal.models.crm import Provider
from portal.services.crm import connections, scheduling
from portal.sync import hubspot


class InvalidSignature(DomainError):
    status_code = 401


def receive_hubspot_webhook(*, method: str, urls: list[str], body: bytes, signature: str | None,
                            timestamp: str | None) -> int:
    """Verify HubSpot's v3 signature against every HubSpot connection's app secret (FACTS §1.11);
    a valid one triggers an early pull of that connection. Raises InvalidSignature (nothing changes)."""
    candidates = list(db.session.scalars(db.select(CrmConnection).where(
        CrmConnection.active.is_(True), CrmConnection.provider == Provider.HUBSPOT.value,
        CrmConnection.webhook_secret_encrypted.is_not(None))))
    matched = [c for c in candidates
               if any(hubspot.valid_signature_v3(connections.webhook_secret(c) or "", method, url, body, signature,
                                                 timestamp)
                      for url in dict.fromkeys(urls))]
    if not matched:
        raise InvalidSignature("Invalid or expired HubSpot signature.")
    for connection in matched:
        scheduling.schedule_pull(connection.id)
    return len(matched)
