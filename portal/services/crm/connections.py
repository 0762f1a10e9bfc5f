"""CRM connections: the stored credentials (encrypted), connection CRUD, the connector, the test call."""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.models import CrmConnection
from portal.models.crm import ExistingPolicy, Provider, SyncTrigger
from portal.models.types import utcnow
from portal.services.crm import configuration
from portal.sync import hubspot, mapping
from portal.sync.http import Client, CrmError


# ---- secrets -----------------------------------------------------------------------------------

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


# ---- connections ------------------------------------------------------------------------------

def list_connections() -> list[CrmConnection]:
    return list(db.session.scalars(db.select(CrmConnection).order_by(CrmConnection.id)))


def get_connection(connection_id: int) -> CrmConnection:
    connection = db.session.get(CrmConnection, connection_id)
    if connection is None:
        raise NotFound()
    return connection


def create_connection(*, name: str, base_url: str, token: str, provider: str = Provider.HUBSPOT.value,
                      webhook_secret: str | None = None, sync_trigger: str = SyncTrigger.AUTO.value,
                      existing_policy: str = ExistingPolicy.FILL_EMPTY.value,
                      settings: dict | None = None) -> CrmConnection:
    """Create a connection with the default field mappings. Raises DomainError for bad input."""
    if provider != Provider.HUBSPOT.value:
        raise DomainError("Only HubSpot connections are available so far.", field="provider")
    if not (token or "").strip():
        raise DomainError("Enter the private-app access token.", field="token")
    connection = CrmConnection(provider=provider, settings=dict(settings or {}), account={})
    _apply_settings(connection, name=name, base_url=base_url, sync_trigger=sync_trigger,
                    existing_policy=existing_policy)
    connection.token_encrypted = encrypt(token.strip())
    connection.webhook_secret_encrypted = encrypt((webhook_secret or "").strip() or None)
    for position, m in enumerate(mapping.default_mappings()):
        connection.mappings.append(configuration.mapping_row(m, position))
    db.session.add(connection)
    db.session.commit()
    return connection


def update_connection(connection: CrmConnection, *, name: str, base_url: str, sync_trigger: str,
                      existing_policy: str, active: bool = True, token: str | None = None,
                      webhook_secret: str | None = None) -> CrmConnection:
    """Change the settings; a blank token or secret keeps the stored one (it is never shown again)."""
    _apply_settings(connection, name=name, base_url=base_url, sync_trigger=sync_trigger,
                    existing_policy=existing_policy)
    connection.active = bool(active)
    if (token or "").strip():
        connection.token_encrypted = encrypt(token.strip())
    if (webhook_secret or "").strip():
        connection.webhook_secret_encrypted = encrypt(webhook_secret.strip())
    db.session.commit()
    return connection


def _apply_settings(connection, *, name, base_url, sync_trigger, existing_policy) -> None:
    base_url = (base_url or "").strip().rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise DomainError("Enter the API base URL, e.g. https://api.hubapi.com.", field="base_url")
    if sync_trigger not in {t.value for t in SyncTrigger}:
        raise DomainError("Choose automatic or manual.", field="sync_trigger")
    if existing_policy not in {p.value for p in ExistingPolicy}:
        raise DomainError("Choose what happens to an existing customer.", field="existing_policy")
    connection.name = (name or "").strip()[:120] or "HubSpot"
    connection.base_url = base_url
    connection.sync_trigger = sync_trigger
    connection.existing_policy = existing_policy


def token(connection: CrmConnection) -> str:
    plain = decrypt(connection.token_encrypted)
    if not plain:
        raise DomainError("This connection has no token yet.", field="token")
    return plain


def webhook_secret(connection: CrmConnection) -> str | None:
    return decrypt(connection.webhook_secret_encrypted)


def connector(connection: CrmConnection, **client_options) -> hubspot.HubSpot:
    """The HubSpot connector for a connection (a fresh requests session; budgets are shared)."""
    settings = connection.settings or {}
    client = Client(connection.base_url, token(connection), budget_key=("crm", connection.id),
                    burst=int(settings.get("burst", 100)),
                    search_per_second=int(settings.get("search_per_second", 5)), **client_options)
    return hubspot.HubSpot(client, version=settings.get("api_version", "v3"))


@dataclass
class TestResult:
    ok: bool
    message: str


def test_connection(connection: CrmConnection) -> TestResult:
    """Call the API with the stored token: the account's pipelines, or the CRM's own error."""
    try:
        crm = connector(connection, max_retries=1, max_wait_seconds=5)
        pipelines = crm.pipelines("deals")
    except CrmError as err:
        return TestResult(False, f"HubSpot answered {err.status or 'nothing'}: {err.message}")
    except DomainError as err:
        return TestResult(False, err.message)
    labels = ", ".join(p.get("label", p.get("id", "?")) for p in pipelines) or "none"
    connection.account = {"pipelines": [{"id": p["id"], "label": p.get("label"),
                                         "stages": [{"id": s["id"], "label": s.get("label")}
                                                    for s in p.get("stages", [])]} for p in pipelines],
                          "checked_at": utcnow().isoformat()}
    db.session.commit()
    return TestResult(True, f"Connected to HubSpot. Deal pipelines: {labels}.")


def crm_properties(connection: CrmConnection, crm_object: str) -> list[dict]:
    """The live property list of a CRM object, for the mappings editor. Raises CrmError."""
    plural = {"deal": "deals", "contact": "contacts", "company": "companies"}[crm_object]
    return [{"name": p["name"], "label": p.get("label", p["name"]), "type": p.get("type"),
             "options": [o.get("value") for o in p.get("options") or []]}
            for p in connector(connection).properties(plural)]
