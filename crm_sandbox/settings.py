"""Sandbox settings: the app's config dict first, then the environment, then the demo default."""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

# Demo defaults are documented in crm_sandbox/README.md; they exist so that any outside client
# (curl, the portal's connectors, HubSpot's own SDK) can be pointed at a sandbox without setup.
DEFAULTS: dict[str, Any] = {
    "SANDBOX_DATABASE_URL": "sqlite:///instance/crm_sandbox.db",
    "SANDBOX_ADMIN": True,
    "SANDBOX_UI": True,
    "SANDBOX_HUBSPOT_TOKEN": "pat-na1-sandbox-demo-token",
    "SANDBOX_HUBSPOT_PORTAL_ID": "12345678",
    "SANDBOX_HUBSPOT_APP_ID": "4242",
    "SANDBOX_HUBSPOT_CLIENT_SECRET": "sandbox-demo-client-secret",
    "SANDBOX_HUBSPOT_WEBHOOK_URL": "",
    # FACTS §1.10: privately distributed apps on Free/Starter get 100 requests per 10 s and
    # 250,000 per day; CRM search has its own 5 requests/s bucket.
    "SANDBOX_HUBSPOT_BURST_LIMIT": 100,
    "SANDBOX_HUBSPOT_DAILY_LIMIT": 250_000,
    "SANDBOX_HUBSPOT_SEARCH_LIMIT": 5,
    "SANDBOX_SALESFORCE_CLIENT_ID": "sandbox-demo-client-id",
    "SANDBOX_SALESFORCE_CLIENT_SECRET": "sandbox-demo-client-secret",
    "SANDBOX_SALESFORCE_REFRESH_TOKEN": "sandbox-demo-refresh-token",
    "SANDBOX_SALESFORCE_USERNAME": "",
    "SANDBOX_SALESFORCE_JWT_CERTIFICATE": "",
    "SANDBOX_SALESFORCE_SESSION_SECONDS": 7200,
    # FACTS §2.10: a Developer Edition org gets 15,000 API requests per 24 hours.
    "SANDBOX_SALESFORCE_DAILY_LIMIT": 15_000,
    # The org's schema and duplicate rules (crm_sandbox/salesforce/org.py): comma-separated
    # "Object.Field" (or "Object.Field=Picklist value") entries the org lacks, external-id fields
    # that are not unique, and the duplicate rules' action (alert, block, off).
    "SANDBOX_SALESFORCE_MISSING_FIELDS": "",
    "SANDBOX_SALESFORCE_NOT_UNIQUE_FIELDS": "",
    "SANDBOX_SALESFORCE_DUPLICATE_RULES": "alert",
}

_TRUE = {"1", "true", "yes", "on"}


def resolve(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every sandbox setting, typed like its default."""
    config = config or {}
    resolved: dict[str, Any] = {}
    for key, default in DEFAULTS.items():
        if key in config and config[key] is not None:
            value = config[key]
        elif key in os.environ:
            value = os.environ[key]
        else:
            value = default
        resolved[key] = _typed(value, default)
    return resolved


def _typed(value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        return value if isinstance(value, bool) else str(value).strip().lower() in _TRUE
    if isinstance(default, int):
        return int(value)
    return "" if value is None else str(value)
