"""The three CRM object types the sandbox serves, by every name HubSpot's paths accept."""
from __future__ import annotations

from crm_sandbox.hubspot import errors

TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "deals": "0-3"}
SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal"}

# FACTS §1.2 and §1.6: paths take the plural name, the singular (v4 docs) or the type id.
_ALIASES = {alias: plural for plural in TYPE_IDS
            for alias in (plural, SINGULAR[plural], TYPE_IDS[plural])}


def canonical(name: str) -> str:
    """'contact', 'contacts' or '0-1' → 'contacts'; anything else is a 400 like HubSpot's."""
    plural = _ALIASES.get(str(name).lower())
    if plural is None:
        raise errors.validation(f"Unable to infer object type from: {name}")
    return plural
