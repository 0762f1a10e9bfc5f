"""Push a batch of records to HubSpot (FACTS §4 — each step is one call for the whole batch):
  1. contacts by email: `batch/upsert` (policy "update"), or `batch/read` + upsert of the missing
     ones + `batch/update` of empty fields (policies "fill_empty" / "leave");
  2. companies by email domain: the domain's remembered id (`CrmCompany`), else one `search` with
     `domain IN [...]`, else `batch/upsert` by our unique `portal_company_domain` property;
  3. deals: `batch/upsert` by our unique `portal_referral_id` property;
then, for everything pushed in the run, the three v4 association batches (≤ 2,000 pairs a call).

Every write is an upsert keyed by a unique value, so re-running a batch after a crash finds what the
last run made. Nothing here touches the database: `prepare` reads the remembered companies before
the calls, and the new ones leave as rows in `batch.rows` for the engine to write with the results.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from portal.extensions import db
from portal.models import CrmCompany
from portal.models.crm import ExistingPolicy
from portal.sync import mapping
from portal.sync.connectors.base import Batch, Outgoing, PushResult, Related
from portal.sync.connectors.hubspot import client as hubspot
from portal.sync.http import CrmError

DEAL_OBJECT = "deal"


@dataclass
class _Item:
    out: Outgoing
    deal_props: dict = field(default_factory=dict)
    error: str | None = None
    result: PushResult | None = None

    @property
    def link(self):
        return self.out.link

    @property
    def email(self) -> str | None:
        return self.out.contact_email

    @property
    def domain(self) -> str | None:
        return self.out.company_domain


def prepare(batch: Batch, connection_id: int) -> None:
    """Inside the engine's read transaction: the companies already chosen for the batch's domains."""
    wanted = sorted({o.company_domain for o in batch.items if _company_needed(o)})
    batch.context["companies"] = dict(db.session.execute(db.select(CrmCompany.domain, CrmCompany.crm_id).where(
        CrmCompany.connection_id == connection_id, CrmCompany.domain.in_(wanted))).all()) if wanted else {}


def push(api: hubspot.HubSpot, *, connection_id: int, policy: str, mappings: list[mapping.Mapping],
         batch: Batch) -> list[PushResult]:
    """One batch of records (with no transaction open); a retryable failure raises CrmError."""
    items = [_Item(o) for o in batch.items]
    _resolve_contacts(api, policy, mappings, [i for i in items if _contact_needed(i.out)])
    _resolve_companies(api, connection_id, policy, mappings, batch, [i for i in items if _company_needed(i.out)])
    _upsert_deals(api, mappings, items)
    results = []
    for item in items:
        if item.error:
            results.append(PushResult(item.link.id, "error", "upsert deal", message=item.error[:2000],
                                      request_summary=request_summary(item.deal_props)))
        else:
            results.append(item.result or PushResult(item.link.id, "skipped"))
    return results


def _contact_needed(out: Outgoing) -> bool:
    return bool(out.contact_email) and (out.link.contact_crm_id is None
                                        or (out.link.pushed_values or {}).get("_email") != out.contact_email)


def _company_needed(out: Outgoing) -> bool:
    return bool(out.company_domain) and (out.link.company_crm_id is None
                                         or (out.link.pushed_values or {}).get("_domain") != out.company_domain)


def remember(link, **values) -> None:
    """What HubSpot now holds for the link, so an unchanged value is not sent again."""
    link.pushed_values = {**(link.pushed_values or {}), **values}


def _resolve_contacts(api, policy, mappings, items: list[_Item]) -> None:
    """The contact of each end customer, found by email and created if missing (FACTS §1.4)."""
    if not items:
        return
    by_email: dict[str, dict] = {}
    for item in items:
        by_email.setdefault(item.email, mapping.push_properties(mappings, "contact", item.out.values))
    for props in by_email.values():
        props.pop("email", None)
    ids: dict[str, str] = {}
    if policy == ExistingPolicy.UPDATE.value:
        # One call: creates the missing, updates the existing (upsert by email is idempotent).
        results = api.batch_upsert("contacts", "email", [(e, {**p, "email": e}) for e, p in by_email.items()])
        ids.update(_ids_by(results, "email"))
    else:
        names = sorted({n for p in by_email.values() for n in p} | {"email"})
        found = api.batch_read("contacts", list(by_email), id_property="email", properties=names)
        existing = _ids_by(found, "email")
        ids.update(existing)
        missing = [(e, {**p, "email": e}) for e, p in by_email.items() if e not in existing]
        if missing:
            ids.update(_ids_by(api.batch_upsert("contacts", "email", missing), "email"))
        if policy == ExistingPolicy.FILL_EMPTY.value:
            fills = []
            for record in found:
                email = (record.get("properties") or {}).get("email", "").lower()
                empty = {k: v for k, v in by_email.get(email, {}).items()
                         if not (record.get("properties") or {}).get(k)}
                if empty:
                    fills.append((record["id"], empty))
            if fills:
                api.batch_update("contacts", fills)
    for item in items:
        if item.email in ids:
            item.link.contact_crm_id = ids[item.email]
            remember(item.link, _email=item.email)


def _resolve_companies(api, connection_id, policy, mappings, batch: Batch, items: list[_Item]) -> None:
    """The company of each email domain: remembered, else searched by domain, else created.

    HubSpot does not deduplicate companies by domain (FACTS §1.2); creation is an upsert by our
    unique `portal_company_domain`, so a company created by a run that crashed before its commit is
    found again instead of duplicated, even while search has not indexed it yet (FACTS §1.5).
    """
    if not items:
        return
    wanted = sorted({i.domain for i in items})
    known = dict(batch.context.get("companies") or {})
    props_by_domain = {}
    for item in items:
        props_by_domain.setdefault(item.domain, mapping.push_properties(mappings, "company", item.out.values))
    unknown = [d for d in wanted if d not in known]
    found: dict[str, dict] = {}
    for start in range(0, len(unknown), hubspot.IN_VALUES):
        chunk = unknown[start:start + hubspot.IN_VALUES]
        names = sorted({n for d in chunk for n in props_by_domain[d]} | {"domain", hubspot.COMPANY_ID_PROPERTY})
        for record in api.search_all("companies", [{"filters": [
                {"propertyName": "domain", "operator": "IN", "values": [d.lower() for d in chunk]}]}], names,
                sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}]):
            domain = ((record.get("properties") or {}).get("domain") or "").lower()
            # Several companies may share a domain: keep the oldest, as a person would.
            found.setdefault(domain, record)
    new_rows = {}
    fills = []
    for domain, record in found.items():
        new_rows[domain] = record["id"]
        if policy == ExistingPolicy.LEAVE.value or (record.get("properties") or {}).get(hubspot.COMPANY_ID_PROPERTY):
            continue
        props = props_by_domain.get(domain, {})
        current = record.get("properties") or {}
        changes = {k: v for k, v in props.items() if k != "domain" and (
            policy == ExistingPolicy.UPDATE.value or not current.get(k))}
        if changes:
            fills.append((record["id"], changes))
    missing = [d for d in unknown if d not in found]
    if missing:
        inputs = [(d, {**props_by_domain[d], "domain": d}) for d in missing]
        results = api.batch_upsert("companies", hubspot.COMPANY_ID_PROPERTY, inputs)
        for record in results:
            domain = ((record.get("properties") or {}).get(hubspot.COMPANY_ID_PROPERTY)
                      or (record.get("properties") or {}).get("domain") or "").lower()
            if domain:
                new_rows[domain] = record["id"]
    if fills:
        api.batch_update("companies", fills)
    for domain, crm_id in new_rows.items():
        batch.rows.append(CrmCompany(connection_id=connection_id, domain=domain, crm_id=str(crm_id)))
        known[domain] = str(crm_id)
    for item in items:
        if item.domain in known:
            item.link.company_crm_id = known[item.domain]
            remember(item.link, _domain=item.domain)


def _upsert_deals(api, mappings, items: list[_Item]) -> None:
    """Deals by our unique portal id (FACTS §4): only what changed since the last push is sent."""
    to_send = []
    for item in items:
        props = mapping.push_properties(mappings, DEAL_OBJECT, item.out.values)
        last = item.link.pushed_values or {}
        if item.link.crm_id:
            props = {k: v for k, v in props.items() if last.get(k) != v}
            if not props:
                continue
        item.deal_props = props
        to_send.append(item)
    _send_deals(api, to_send)


def _send_deals(api, items: list[_Item]) -> None:
    if not items:
        return
    inputs = [(i.out.portal_id, {**i.deal_props, hubspot.DEAL_ID_PROPERTY: i.out.portal_id}) for i in items]
    try:
        results = api.batch_upsert("deals", hubspot.DEAL_ID_PROPERTY, inputs)
    except CrmError as err:
        if err.retryable:
            raise
        if len(items) == 1:
            items[0].error = _explain(err)
            return
        # Upserts have no multi-status: halve the batch until the bad input stands alone.
        middle = len(items) // 2
        _send_deals(api, items[:middle])
        _send_deals(api, items[middle:])
        return
    by_key = {str((r.get("properties") or {}).get(hubspot.DEAL_ID_PROPERTY)): r for r in results}
    for item in items:
        record = by_key.get(item.out.portal_id)
        if record is None:
            item.error = "HubSpot did not return this deal in its answer."
            continue
        link = item.link
        created = record.get("new", link.crm_id is None)
        link.crm_id, link.url = str(record["id"]), record.get("url") or link.url
        remember(link, **item.deal_props)
        item.result = PushResult(link.id, "ok", "create deal" if created else "update deal", created=bool(created),
                                 message=f"Deal {record['id']}", request_summary=request_summary(item.deal_props))


def associate(api: hubspot.HubSpot, related: list[Related]) -> None:
    """Deal-contact, deal-company (primary) and contact-company (primary) for every pushed record
    whose associations are not confirmed yet, 2,000 pairs per call (FACTS §1.6)."""
    deal_contact = [(r.crm_id, r.contact_crm_id) for r in related if r.contact_crm_id]
    deal_company = [(r.crm_id, r.company_crm_id) for r in related if r.company_crm_id]
    contact_company = sorted({(r.contact_crm_id, r.company_crm_id) for r in related
                              if r.contact_crm_id and r.company_crm_id})
    api.associate("deals", "contacts", deal_contact)
    api.associate("deals", "companies", deal_company, hubspot.DEAL_TO_PRIMARY_COMPANY)
    api.associate("contacts", "companies", contact_company, hubspot.CONTACT_TO_PRIMARY_COMPANY)


def request_summary(props: dict) -> str:
    """The properties sent, for the integration log."""
    return json.dumps(props, sort_keys=True, default=str)[:500]


def _explain(err: CrmError) -> str:
    details = "; ".join(e.get("message", "") for e in err.body.get("errors", []) if isinstance(e, dict))
    return f"HubSpot rejected the deal ({err.status}): {details or err.message}"[:2000]


def _ids_by(records: list[dict], name: str) -> dict[str, str]:
    """Record ids keyed by one (lower-cased) property, e.g. email."""
    found = {}
    for record in records:
        value = ((record.get("properties") or {}).get(name) or "").strip().lower()
        if value:
            found[value] = str(record["id"])
    return found
