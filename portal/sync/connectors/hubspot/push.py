"""Push a batch of records to HubSpot (FACTS §4 — each step is one call for the whole batch):
  1. contacts by email: `batch/read`, then one `batch/upsert` by email of the missing ones and of
     the changes the policy makes to existing ones (update / fill empty / leave);
  2. companies by email domain: the domain's remembered id (`CrmCompany`), else one `search` with
     `domain IN [...]`, else `batch/upsert` by our unique `portal_company_domain` property;
  3. deals: `batch/upsert` by our unique `portal_referral_id` property;
What to write is decided in `decide` (the same decision the dry run reports, `plan`); this module
carries it out.
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
from portal.sync import mapping
from portal.sync.connectors.base import Batch, Outgoing, PushResult, Related
from portal.sync.connectors.hubspot import client as hubspot
from portal.sync.connectors.hubspot import decide
from portal.sync.http import CrmError


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
    wanted = sorted({o.company_domain for o in batch.items if decide.company_needed(o)})
    batch.context["companies"] = dict(db.session.execute(db.select(CrmCompany.domain, CrmCompany.crm_id).where(
        CrmCompany.connection_id == connection_id, CrmCompany.domain.in_(wanted))).all()) if wanted else {}


def push(api: hubspot.HubSpot, *, connection_id: int, policy: str, mappings: list[mapping.Mapping],
         batch: Batch) -> list[PushResult]:
    """One batch of records (with no transaction open); a retryable failure raises CrmError."""
    items = [_Item(o) for o in batch.items]
    _resolve_contacts(api, policy, mappings, [i for i in items if decide.contact_needed(i.out)])
    _resolve_companies(api, connection_id, policy, mappings, batch,
                       [i for i in items if decide.company_needed(i.out)])
    _upsert_deals(api, mappings, items)
    results = []
    for item in items:
        if item.error:
            results.append(PushResult(item.link.id, "error", "upsert deal", message=item.error[:2000],
                                      request_summary=request_summary(item.deal_props)))
        else:
            results.append(item.result or PushResult(item.link.id, "skipped"))
    return results


def remember(link, **values) -> None:
    """What HubSpot now holds for the link, so an unchanged value is not sent again."""
    link.pushed_values = {**(link.pushed_values or {}), **values}


def _resolve_contacts(api, policy, mappings, items: list[_Item]) -> None:
    """The contact of each end customer, found by email; created, updated or filled per the policy
    (`decide.contact_writes`), in one upsert by email (idempotent) for whatever is sent (FACTS §1.4)."""
    if not items:
        return
    by_email = decide.contact_props(mappings, [i.out for i in items])
    writes = decide.contact_writes(policy, by_email, decide.read_contacts(api, by_email))
    ids = {email: w.crm_id for email, w in writes.items() if w.crm_id}
    sent = [(email, {**w.props, "email": email}) for email, w in writes.items() if w.sends]
    if sent:
        ids.update(_ids_by(api.batch_upsert("contacts", "email", sent), "email"))
    for item in items:
        if item.email in ids:
            item.link.contact_crm_id = ids[item.email]
            remember(item.link, _email=item.email)


def _resolve_companies(api, connection_id, policy, mappings, batch: Batch, items: list[_Item]) -> None:
    """The company of each email domain: remembered, else searched by domain, else created
    (`decide.company_writes`).

    HubSpot does not deduplicate companies by domain (FACTS §1.2); creation is an upsert by our
    unique `portal_company_domain`, so a company created by a run that crashed before its commit is
    found again instead of duplicated, even while search has not indexed it yet (FACTS §1.5).
    """
    if not items:
        return
    by_domain = decide.company_props(mappings, [i.out for i in items])
    known = dict(batch.context.get("companies") or {})
    found = decide.find_companies(api, [d for d in by_domain if d not in known], by_domain)
    writes = decide.company_writes(policy, by_domain, known, found)
    ids = {domain: w.crm_id for domain, w in writes.items() if w.crm_id}
    new_rows = {domain: ids[domain] for domain in found}
    creates = [(domain, w.props) for domain, w in writes.items() if w.action == "create"]
    if creates:
        for record in api.batch_upsert("companies", hubspot.COMPANY_ID_PROPERTY, creates):
            domain = ((record.get("properties") or {}).get(hubspot.COMPANY_ID_PROPERTY)
                      or (record.get("properties") or {}).get("domain") or "").lower()
            if domain:
                new_rows[domain] = ids[domain] = str(record["id"])
    updates = [(w.crm_id, w.props) for w in writes.values() if w.action == "update"]
    if updates:
        api.batch_update("companies", updates)
    for domain, crm_id in new_rows.items():
        batch.rows.append(CrmCompany(connection_id=connection_id, domain=domain, crm_id=str(crm_id)))
    for item in items:
        if item.domain in ids:
            item.link.company_crm_id = ids[item.domain]
            remember(item.link, _domain=item.domain)


def _upsert_deals(api, mappings, items: list[_Item]) -> None:
    """Deals by our unique portal id (FACTS §4): only what changed since the last push is sent."""
    to_send = []
    for item in items:
        write = decide.deal_write(mappings, item.out)
        if write.sends:
            item.deal_props = write.props
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
