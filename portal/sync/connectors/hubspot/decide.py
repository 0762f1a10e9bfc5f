"""What a HubSpot push writes, decided from the portal's values and what HubSpot holds: the one
decision that `push` carries out and `plan` (the dry run) reports. The reads live here too (a
contact `batch/read` by email, a company `search` by domain, both read-only); nothing here writes.

Per the connection's existing policy (FACTS §4): a contact or company HubSpot already holds is
updated (the mapped values that differ), filled (only its empty properties) or left, and linked
either way; one it lacks is created. A deal sends only what changed since the last push.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from portal.models.crm import ExistingPolicy
from portal.sync import mapping
from portal.sync.connectors.base import FieldChange, Outgoing
from portal.sync.connectors.hubspot import client as hubspot

DEAL_OBJECT = "deal"


@dataclass
class Write:
    """One intended write: create | update (`props` are the changed values) | link (an existing
    record, nothing sent) | skip; `current` is what HubSpot holds (or the deal's last pushed values)."""

    action: str
    crm_id: str | None = None
    props: dict = field(default_factory=dict)
    current: dict = field(default_factory=dict)

    @property
    def sends(self) -> bool:
        return self.action in ("create", "update")

    def changes(self) -> list[FieldChange]:
        return [FieldChange(name, self.current.get(name) or None, value) for name, value in sorted(self.props.items())]


def contact_needed(out: Outgoing) -> bool:
    return bool(out.contact_email) and (out.link.contact_crm_id is None
                                        or (out.link.pushed_values or {}).get("_email") != out.contact_email)


def company_needed(out: Outgoing) -> bool:
    return bool(out.company_domain) and (out.link.company_crm_id is None
                                         or (out.link.pushed_values or {}).get("_domain") != out.company_domain)


def _changes(policy: str, props: dict, current: dict, key: str) -> dict:
    if policy == ExistingPolicy.UPDATE.value:
        return {k: v for k, v in props.items() if k != key and current.get(k) != v}
    if policy == ExistingPolicy.FILL_EMPTY.value:
        return {k: v for k, v in props.items() if k != key and not current.get(k)}
    return {}


# ---- contacts -----------------------------------------------------------------------------------

def contact_props(mappings: list[mapping.Mapping], outs: list[Outgoing]) -> dict[str, dict]:
    """Email -> the contact's mapped properties (the first record's, when several share an email)."""
    by_email: dict[str, dict] = {}
    for out in outs:
        by_email.setdefault(out.contact_email, mapping.push_properties(mappings, "contact", out.values))
    for props in by_email.values():
        props.pop("email", None)
    return by_email


def read_contacts(api: hubspot.HubSpot, by_email: dict[str, dict]) -> dict[str, dict]:
    """The contacts HubSpot holds for these emails (one `batch/read` by email), by lower-cased email."""
    if not by_email:
        return {}
    names = sorted({n for p in by_email.values() for n in p} | {"email"})
    found = api.batch_read("contacts", list(by_email), id_property="email", properties=names)
    return {_value(record, "email"): record for record in found if _value(record, "email")}


def contact_writes(policy: str, by_email: dict[str, dict], found: dict[str, dict]) -> dict[str, Write]:
    writes = {}
    for email, props in by_email.items():
        record = found.get(email)
        if record is None:
            writes[email] = Write("create", props={**props, "email": email})
            continue
        current = record.get("properties") or {}
        changes = _changes(policy, props, current, "email")
        writes[email] = Write("update" if changes else "link", str(record["id"]), changes, current)
    return writes


# ---- companies ----------------------------------------------------------------------------------

def company_props(mappings: list[mapping.Mapping], outs: list[Outgoing]) -> dict[str, dict]:
    by_domain: dict[str, dict] = {}
    for out in outs:
        by_domain.setdefault(out.company_domain, mapping.push_properties(mappings, "company", out.values))
    return by_domain


def find_companies(api: hubspot.HubSpot, domains: list[str], by_domain: dict[str, dict]) -> dict[str, dict]:
    """The companies HubSpot holds for these domains (a `search` with `domain IN [...]`, 100 values a
    call). Several companies may share a domain (HubSpot does not deduplicate them, FACTS §1.2): the
    oldest is kept, as a person would."""
    found: dict[str, dict] = {}
    domains = sorted(domains)
    for start in range(0, len(domains), hubspot.IN_VALUES):
        chunk = domains[start:start + hubspot.IN_VALUES]
        names = sorted({n for d in chunk for n in by_domain[d]} | {"domain", hubspot.COMPANY_ID_PROPERTY})
        for record in api.search_all("companies", [{"filters": [
                {"propertyName": "domain", "operator": "IN", "values": [d.lower() for d in chunk]}]}], names,
                sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}]):
            found.setdefault(_value(record, "domain"), record)
    return found


def company_writes(policy: str, by_domain: dict[str, dict], known: dict[str, str],
                   found: dict[str, dict]) -> dict[str, Write]:
    """`known`: the companies the portal chose for a domain before (its `CrmCompany` rows): linked as they are."""
    writes = {}
    for domain, props in by_domain.items():
        if domain in known:
            writes[domain] = Write("link", known[domain])
            continue
        record = found.get(domain)
        if record is None:
            writes[domain] = Write("create", props={**props, "domain": domain})
            continue
        current = record.get("properties") or {}
        # A company the portal created itself carries our domain key: it is ours already, left as it is.
        changes = {} if current.get(hubspot.COMPANY_ID_PROPERTY) else _changes(policy, props, current, "domain")
        writes[domain] = Write("update" if changes else "link", str(record["id"]), changes, current)
    return writes


# ---- deals --------------------------------------------------------------------------------------

def deal_write(mappings: list[mapping.Mapping], out: Outgoing) -> Write:
    """A linked deal gets what changed since the last push (nothing: skip); a new one everything."""
    props = mapping.push_properties(mappings, DEAL_OBJECT, out.values)
    if out.link.crm_id:
        last = out.link.pushed_values or {}
        changed = {k: v for k, v in props.items() if last.get(k) != v}
        return Write("update" if changed else "skip", out.link.crm_id, changed, last)
    return Write("create", props=props)


def _value(record: dict, name: str) -> str:
    return ((record.get("properties") or {}).get(name) or "").strip().lower()
