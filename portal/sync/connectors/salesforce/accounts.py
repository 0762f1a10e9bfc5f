"""The Accounts flagged for the organization sync, as the matching wizard reads them (issue #14):
all of them at once (with their contacts' emails, one relationship query), or a few by name as an
admin types. Every typed text reaches SOQL only through `client.quote` / `client.like`."""
from __future__ import annotations

from portal import domains
from portal.sync.connectors.base import AccountCandidate
from portal.sync.connectors.salesforce import client as sf

STATUS_FIELD = "Portal_Partner_Status__c"
_FIELDS = f"Id, Name, Website, {STATUS_FIELD}"


def flagged(api: sf.Salesforce) -> list[AccountCandidate]:
    """Every Account with the sync flag set, with the email domains of its contacts."""
    soql = (f"SELECT {_FIELDS}, (SELECT Email FROM Contacts) FROM Account "
            f"WHERE {sf.SYNC_FIELD} = true ORDER BY Name")
    return [_candidate(record) for record in api.query(soql)]


def search(api: sf.Salesforce, text: str, *, limit: int = 10) -> list[AccountCandidate]:
    """Flagged Accounts whose name contains `text` (case-insensitive, as SOQL's LIKE is)."""
    text = (text or "").strip()[:80]
    if not text:
        return []
    soql = (f"SELECT {_FIELDS} FROM Account WHERE {sf.SYNC_FIELD} = true AND Name LIKE {sf.like(text)} "
            f"ORDER BY Name LIMIT {int(limit)}")
    return [_candidate(record) for record in api.query(soql)]


def _candidate(record: dict) -> AccountCandidate:
    found = []
    website = domains.normalize(record.get("Website"))
    if domains.is_company_domain(website):
        found.append(website)
    for contact in ((record.get("Contacts") or {}).get("records") or []):
        domain = domains.of_email(contact.get("Email"))
        if domain and domain not in found:
            found.append(domain)
    return AccountCandidate(crm_id=record["Id"], name=record.get("Name") or record["Id"],
                            website=record.get("Website"), status=record.get(STATUS_FIELD), domains=tuple(found))
