"""Push dirty referrals to HubSpot in batches of up to 100 links (FACTS §4 — each step is one call
for the whole batch):
  1. contacts by email: `batch/upsert` (policy "update"), or `batch/read` + upsert of the missing
     ones + `batch/update` of empty fields (policies "fill_empty" / "leave");
  2. companies by email domain: the domain's remembered id (`CrmCompany`), else one `search` with
     `domain IN [...]`, else `batch/upsert` by our unique `portal_company_domain` property;
  3. deals: `batch/upsert` by our unique `portal_referral_id` property;
then, for everything pushed in the run, the three v4 association batches (≤ 2,000 pairs a call).

Safety: the database says what is pending. A link is marked clean only after HubSpot confirmed it,
in one transaction per batch, and only if no change arrived meanwhile (`version`). Every write is an
upsert keyed by a unique value, so re-running a batch after a crash finds what the last run made.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import bindparam, func, update

from portal import domains
from portal.extensions import db
from portal.models import CrmCompany, CrmConnection, CrmLink, Referral, SyncLog
from portal.models.crm import ExistingPolicy, LinkState
from portal.models.types import utcnow
from portal.services import crm
from portal.sync import hubspot, mapping
from portal.sync.http import CallEvent, CrmError

BATCH = hubspot.BATCH_SIZE


@dataclass
class PushStats:
    pushed: int = 0
    created: int = 0
    errors: int = 0
    skipped: int = 0
    calls: int = 0
    batches: int = 0


@dataclass
class _Item:
    link: CrmLink
    referral: Referral
    version: int
    email: str | None
    domain: str | None
    deal_props: dict = field(default_factory=dict)
    error: str | None = None


class _CallLog:
    """Collects the client's retried/failed calls, written to the integration log with the batch."""

    def __init__(self, connection_id: int):
        self.connection_id = connection_id
        self.rows: list[SyncLog] = []

    def __call__(self, event: CallEvent) -> None:
        if event.status is not None and event.status < 400:
            return
        self.rows.append(SyncLog(connection_id=self.connection_id, direction="push", action="http",
                                 status="retry" if event.retrying else "error",
                                 message=f"{event.status or 'network'}: {event.message}"[:2000],
                                 request_summary=f"{event.method} {event.path}"))

    def flush(self) -> None:
        if self.rows:
            db.session.add_all(self.rows)
            self.rows = []

# ---- push ---------------------------------------------------------------------------------------

def push(connection_id: int, *, on_batch: Callable[[int], None] | None = None,
         max_batches: int | None = None) -> PushStats:
    """Push every pending link of a connection. Retryable failures re-raise (the job retries)."""
    connection = db.session.get(CrmConnection, connection_id)
    stats = PushStats()
    if connection is None or not connection.active:
        return stats
    calls = _CallLog(connection.id)
    crm_api = crm.connector(connection, on_event=calls)
    mappings = crm.mappings_of(connection)
    try:
        ensure_schema(connection, crm_api)
        # A few passes: changes committed while a pass ran are picked up by the next one.
        for _ in range(3):
            last_id, sent = 0, 0
            while max_batches is None or stats.batches < max_batches:
                links = _pending_links(connection.id, after_id=last_id)
                if not links:
                    break
                last_id = links[-1].id
                sent += _push_batch(connection, crm_api, mappings, links, stats, calls)
                stats.batches += 1
                if on_batch is not None:
                    on_batch(len(links))
            _push_associations(connection, crm_api, calls)
            if not sent:
                break
        connection.last_push_at = utcnow()
        calls.flush()
        db.session.commit()
    except CrmError as err:
        db.session.rollback()
        calls.flush()
        db.session.add(SyncLog(connection_id=connection_id, direction="push", action="batch", status="error",
                               message=f"{err.status or 'network'}: {err.message}"[:2000],
                               request_summary="push stopped; pending records stay queued"))
        db.session.commit()
        raise
    finally:
        stats.calls = crm_api.client.calls
    return stats


def _pending_links(connection_id: int, *, after_id: int) -> list[CrmLink]:
    wanted = (func.coalesce(CrmLink.contact_crm_id, "") + ":" + func.coalesce(CrmLink.company_crm_id, ""))
    query = (db.select(CrmLink).where(CrmLink.connection_id == connection_id,
                                      CrmLink.state != LinkState.UNLINKED.value,
                                      db.or_(CrmLink.dirty.is_(True),
                                             db.and_(CrmLink.crm_id.is_not(None),
                                                     func.coalesce(CrmLink.associated_key, "") != wanted)))
             .where(CrmLink.id > after_id).order_by(CrmLink.id).limit(BATCH))
    return list(db.session.scalars(query))


def ensure_schema(connection: CrmConnection, crm_api: hubspot.HubSpot) -> None:
    """Our unique id properties (FACTS §1.8), checked once per connection."""
    settings = dict(connection.settings or {})
    if settings.get("schema_ok"):
        return
    crm_api.ensure_unique_property("deals", hubspot.DEAL_ID_PROPERTY, "Portal referral ID", "dealinformation")
    crm_api.ensure_unique_property("companies", hubspot.COMPANY_ID_PROPERTY, "Portal company domain",
                                   "companyinformation")
    settings["schema_ok"] = True
    connection.settings = settings
    db.session.commit()


def _push_batch(connection, crm_api, mappings, links, stats: PushStats, calls: _CallLog) -> int:
    """One batch of links, committed together; returns how many were dirty."""
    referrals = {r.id: r for r in db.session.scalars(
        db.select(Referral).where(Referral.id.in_([link.entity_id for link in links])))}
    items = []
    for link in links:
        referral = referrals.get(link.entity_id)
        if referral is None:  # deleted in the portal: nothing to push
            db.session.delete(link)
            continue
        email = (referral.contact_email or "").strip().lower() or None
        domain = referral.company_domain if domains.is_company_domain(referral.company_domain) \
            else domains.of_email(email)
        items.append(_Item(link, referral, link.version, email, domain))

    dirty = [i for i in items if i.link.dirty]
    _resolve_contacts(connection, crm_api, mappings, [i for i in dirty if _contact_needed(i)])
    _resolve_companies(connection, crm_api, mappings, [i for i in dirty if _company_needed(i)])
    _upsert_deals(crm_api, mappings, dirty, stats)

    now = utcnow()
    clean = []
    for item in dirty:
        link = item.link
        if item.error:
            link.state, link.last_error = LinkState.ERROR.value, item.error[:2000]
            stats.errors += 1
            db.session.add(SyncLog(connection_id=connection.id, entity_type="referral", entity_id=link.entity_id,
                                   direction="push", action="upsert deal", status="error",
                                   message=item.error[:2000], request_summary=request_summary(item.deal_props)))
        else:
            link.state, link.last_error, link.last_pushed_at = LinkState.SYNCED.value, None, now
        # Clean even on a validation error: the record waits for its next change or a "Sync now".
        clean.append({"link_id": link.id, "seen_version": item.version})
    calls.flush()
    db.session.flush()
    if clean:
        table = CrmLink.__table__
        db.session.execute(update(table).where(table.c.id == bindparam("link_id"),
                                               table.c.version == bindparam("seen_version")).values(dirty=False),
                           clean)
    db.session.commit()
    return len(dirty)


def _contact_needed(item: _Item) -> bool:
    return bool(item.email) and (item.link.contact_crm_id is None
                                 or item.link.pushed_values.get("_email") != item.email)


def _company_needed(item: _Item) -> bool:
    return bool(item.domain) and (item.link.company_crm_id is None
                                  or item.link.pushed_values.get("_domain") != item.domain)


def remember(link: CrmLink, **values) -> None:
    """What HubSpot now holds for the link, so an unchanged value is not sent again."""
    link.pushed_values = {**(link.pushed_values or {}), **values}


def _resolve_contacts(connection, crm_api, mappings, items: list[_Item]) -> None:
    """The contact of each end customer, found by email and created if missing (FACTS §1.4)."""
    if not items:
        return
    by_email: dict[str, dict] = {}
    for item in items:
        by_email.setdefault(item.email, mapping.push_properties(mappings, "contact", item.referral))
    for props in by_email.values():
        props.pop("email", None)
    ids: dict[str, str] = {}
    policy = connection.existing_policy
    if policy == ExistingPolicy.UPDATE.value:
        # One call: creates the missing, updates the existing (upsert by email is idempotent).
        results = crm_api.batch_upsert("contacts", "email", [(e, {**p, "email": e}) for e, p in by_email.items()])
        ids.update(_ids_by(results, "email"))
    else:
        names = sorted({n for p in by_email.values() for n in p} | {"email"})
        found = crm_api.batch_read("contacts", list(by_email), id_property="email", properties=names)
        existing = _ids_by(found, "email")
        ids.update(existing)
        missing = [(e, {**p, "email": e}) for e, p in by_email.items() if e not in existing]
        if missing:
            ids.update(_ids_by(crm_api.batch_upsert("contacts", "email", missing), "email"))
        if policy == ExistingPolicy.FILL_EMPTY.value:
            fills = []
            for record in found:
                email = (record.get("properties") or {}).get("email", "").lower()
                empty = {k: v for k, v in by_email.get(email, {}).items()
                         if not (record.get("properties") or {}).get(k)}
                if empty:
                    fills.append((record["id"], empty))
            if fills:
                crm_api.batch_update("contacts", fills)
    for item in items:
        if item.email in ids:
            item.link.contact_crm_id = ids[item.email]
            remember(item.link, _email=item.email)


def _resolve_companies(connection, crm_api, mappings, items: list[_Item]) -> None:
    """The company of each email domain: remembered, else searched by domain, else created.

    HubSpot does not deduplicate companies by domain (FACTS §1.2); creation is an upsert by our
    unique `portal_company_domain`, so a company created by a run that crashed before its commit is
    found again instead of duplicated, even while search has not indexed it yet (FACTS §1.5).
    """
    if not items:
        return
    wanted = sorted({i.domain for i in items})
    known = dict(db.session.execute(db.select(CrmCompany.domain, CrmCompany.crm_id).where(
        CrmCompany.connection_id == connection.id, CrmCompany.domain.in_(wanted))).all())
    props_by_domain = {}
    for item in items:
        props_by_domain.setdefault(item.domain, mapping.push_properties(mappings, "company", item.referral))
    unknown = [d for d in wanted if d not in known]
    found: dict[str, dict] = {}
    for start in range(0, len(unknown), hubspot.IN_VALUES):
        chunk = unknown[start:start + hubspot.IN_VALUES]
        names = sorted({n for d in chunk for n in props_by_domain[d]} | {"domain", hubspot.COMPANY_ID_PROPERTY})
        for record in crm_api.search_all("companies", [{"filters": [
                {"propertyName": "domain", "operator": "IN", "values": [d.lower() for d in chunk]}]}], names,
                sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}]):
            domain = ((record.get("properties") or {}).get("domain") or "").lower()
            # Several companies may share a domain: keep the oldest, as a person would.
            found.setdefault(domain, record)
    new_rows = {}
    policy = connection.existing_policy
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
        results = crm_api.batch_upsert("companies", hubspot.COMPANY_ID_PROPERTY, inputs)
        for record in results:
            domain = ((record.get("properties") or {}).get(hubspot.COMPANY_ID_PROPERTY)
                      or (record.get("properties") or {}).get("domain") or "").lower()
            if domain:
                new_rows[domain] = record["id"]
    if fills:
        crm_api.batch_update("companies", fills)
    for domain, crm_id in new_rows.items():
        db.session.add(CrmCompany(connection_id=connection.id, domain=domain, crm_id=str(crm_id)))
        known[domain] = str(crm_id)
    for item in items:
        if item.domain in known:
            item.link.company_crm_id = known[item.domain]
            remember(item.link, _domain=item.domain)


def _upsert_deals(crm_api, mappings, items: list[_Item], stats: PushStats) -> None:
    """Deals by our unique portal id (FACTS §4): only what changed since the last push is sent."""
    to_send = []
    for item in items:
        props = mapping.push_properties(mappings, "deal", item.referral)
        last = item.link.pushed_values or {}
        if item.link.crm_id:
            props = {k: v for k, v in props.items() if last.get(k) != v}
            if not props:
                stats.skipped += 1
                continue
        item.deal_props = props
        to_send.append(item)
    _send_deals(crm_api, to_send, stats)


def _send_deals(crm_api, items: list[_Item], stats: PushStats) -> None:
    if not items:
        return
    inputs = [(_portal_id(i.referral), {**i.deal_props, hubspot.DEAL_ID_PROPERTY: _portal_id(i.referral)})
              for i in items]
    try:
        results = crm_api.batch_upsert("deals", hubspot.DEAL_ID_PROPERTY, inputs)
    except CrmError as err:
        if err.retryable:
            raise
        if len(items) == 1:
            items[0].error = _explain(err)
            return
        # Upserts have no multi-status: halve the batch until the bad input stands alone.
        middle = len(items) // 2
        _send_deals(crm_api, items[:middle], stats)
        _send_deals(crm_api, items[middle:], stats)
        return
    by_key = {str((r.get("properties") or {}).get(hubspot.DEAL_ID_PROPERTY)): r for r in results}
    for item in items:
        record = by_key.get(_portal_id(item.referral))
        if record is None:
            item.error = "HubSpot did not return this deal in its answer."
            continue
        link = item.link
        created = record.get("new", link.crm_id is None)
        link.crm_id, link.url = str(record["id"]), record.get("url") or link.url
        remember(link, **item.deal_props)
        stats.pushed += 1
        stats.created += int(bool(created))
        db.session.add(SyncLog(connection_id=link.connection_id, entity_type="referral", entity_id=link.entity_id,
                               direction="push", action="create deal" if created else "update deal", status="ok",
                               message=f"Deal {record['id']}", request_summary=request_summary(item.deal_props)))


def _push_associations(connection, crm_api, calls: _CallLog) -> None:
    """Deal-contact, deal-company (primary) and contact-company (primary) for every link whose
    associations are not confirmed yet, 2,000 pairs per call (FACTS §1.6)."""
    wanted = (func.coalesce(CrmLink.contact_crm_id, "") + ":" + func.coalesce(CrmLink.company_crm_id, ""))
    links = list(db.session.scalars(db.select(CrmLink).where(
        CrmLink.connection_id == connection.id, CrmLink.state != LinkState.UNLINKED.value,
        CrmLink.crm_id.is_not(None), func.coalesce(CrmLink.associated_key, "") != wanted).order_by(CrmLink.id)))
    if not links:
        return
    deal_contact = [(link.crm_id, link.contact_crm_id) for link in links if link.contact_crm_id]
    deal_company = [(link.crm_id, link.company_crm_id) for link in links if link.company_crm_id]
    contact_company = sorted({(link.contact_crm_id, link.company_crm_id) for link in links
                              if link.contact_crm_id and link.company_crm_id})
    crm_api.associate("deals", "contacts", deal_contact)
    crm_api.associate("deals", "companies", deal_company, hubspot.DEAL_TO_PRIMARY_COMPANY)
    crm_api.associate("contacts", "companies", contact_company, hubspot.CONTACT_TO_PRIMARY_COMPANY)
    for link in links:
        link.associated_key = link.wanted_associations
    calls.flush()
    db.session.commit()


def _portal_id(referral: Referral) -> str:
    return str(referral.id)


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
