"""Push a batch of referrals to Salesforce as Leads (each step one call for the whole batch):
  1. for the records not linked yet, the Leads and Contacts that already hold their email (one SOQL
     query each), and the duplicate policy decides: a Lead match is updated / filled / left and
     linked; a Contact match links to the Contact's open Opportunity when it has exactly one;
  2. new Leads: sObject Collections upsert on `Portal_Referral_Id__c` (≤ 200 a call; a re-run
     after a crash finds what the last run made), with the duplicate rule header since the match
     was looked for already;
  3. linked Leads: a Collections update by Id of the fields that changed since the last push.
A link that points at an Opportunity (the Lead was converted) is Salesforce's now: nothing is sent.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from portal.models.crm import ExistingPolicy
from portal.sync import mapping
from portal.sync.connectors.base import Batch, Outgoing, PushResult
from portal.sync.connectors.salesforce import client as sf
from portal.sync.http import CrmError

RECORD = "deal"              # the mapping object of the referral's own record (the Lead)
OPPORTUNITY_PREFIX = "006"   # Salesforce id key prefixes (FACTS §2): 00Q Lead, 003 Contact, 006 Opportunity


@dataclass
class _Item:
    out: Outgoing
    props: dict = field(default_factory=dict)
    result: PushResult | None = None
    instance_url: str = ""

    @property
    def link(self):
        return self.out.link


def is_opportunity(crm_id: str | None) -> bool:
    return bool(crm_id) and crm_id.startswith(OPPORTUNITY_PREFIX)


def push(api: sf.Salesforce, *, policy: str, mappings: list[mapping.Mapping], batch: Batch) -> list[PushResult]:
    items = [_Item(o, mapping.push_properties(mappings, RECORD, o.values)) for o in batch.items]
    instance_url = api.instance_url  # logs in if need be: every path below calls Salesforce
    for item in items:
        item.instance_url = instance_url
    new, linked = [], []
    for item in items:
        if is_opportunity(item.link.crm_id):
            item.result = PushResult(item.link.id, "skipped")
        elif item.link.crm_id:
            linked.append(item)
        else:
            new.append(item)
    to_create = _match_existing(api, policy, new)
    _create(api, to_create)
    _update(api, linked)
    return [i.result or PushResult(i.link.id, "skipped") for i in items]


def _match_existing(api, policy: str, items: list[_Item]) -> list[_Item]:
    """The duplicate policy for records not linked yet; returns those that need a new Lead."""
    emails = sorted({i.out.contact_email for i in items if i.out.contact_email})
    if not emails:
        return items
    names = sorted({n for i in items for n in i.props} | {"Id", "Email", sf.REFERRAL_ID_FIELD})
    leads, contacts = {}, {}
    for start in range(0, len(emails), sf.IN_VALUES):
        chunk = ", ".join(sf.quote(e) for e in emails[start:start + sf.IN_VALUES])
        for record in api.query(f"SELECT {', '.join(names)} FROM Lead WHERE Email IN ({chunk}) "
                                "AND IsConverted = false ORDER BY CreatedDate ASC"):
            leads.setdefault((record.get("Email") or "").lower(), record)
        unmatched = [e for e in emails[start:start + sf.IN_VALUES] if e not in leads]
        if unmatched:
            chunk = ", ".join(sf.quote(e) for e in unmatched)
            for record in api.query(f"SELECT Id, Email FROM Contact WHERE Email IN ({chunk}) "
                                    "ORDER BY CreatedDate ASC"):
                contacts.setdefault((record.get("Email") or "").lower(), record)
    open_opportunities = _open_opportunities(api, [c["Id"] for c in contacts.values()])
    to_create, fills = [], []
    for item in items:
        email = item.out.contact_email
        lead = leads.get(email) if email else None
        if lead is not None and lead.get(sf.REFERRAL_ID_FIELD) in (None, "", item.out.portal_id):
            if lead.get(sf.REFERRAL_ID_FIELD) == item.out.portal_id:
                to_create.append(item)  # ours already (a run that crashed before its commit): upsert it
                continue
            changes = _changes_for(policy, item.props, lead)
            if policy != ExistingPolicy.LEAVE.value:
                changes.update({sf.REFERRAL_ID_FIELD: item.out.portal_id, sf.SYNC_FIELD: True})
            fills.append((item, lead["Id"], changes))
            continue
        contact = contacts.get(email) if email else None
        opportunities = open_opportunities.get(contact["Id"], []) if contact else []
        if len(opportunities) == 1:
            _link(item, opportunities[0], "link opportunity",
                  f"Linked to the open Opportunity {opportunities[0]} of Contact {contact['Id']} ({email})")
            continue
        to_create.append(item)
    _apply_fills(api, fills)
    return to_create


def _changes_for(policy: str, props: dict, record: dict) -> dict:
    if policy == ExistingPolicy.UPDATE.value:
        return {k: v for k, v in props.items() if k != "Email"}
    if policy == ExistingPolicy.FILL_EMPTY.value:
        return {k: v for k, v in props.items() if k != "Email" and record.get(k) in (None, "")}
    return {}


def _open_opportunities(api, contact_ids: list[str]) -> dict[str, list[str]]:
    """Contact id -> ids of its open Opportunities (through OpportunityContactRole)."""
    found: dict[str, list[str]] = {}
    for start in range(0, len(contact_ids), sf.IN_VALUES):
        chunk = ", ".join(sf.quote(c) for c in contact_ids[start:start + sf.IN_VALUES])
        for role in api.query("SELECT ContactId, Opportunity.Id, Opportunity.IsClosed FROM OpportunityContactRole "
                              f"WHERE ContactId IN ({chunk})"):
            opportunity = role.get("Opportunity") or {}
            if opportunity.get("Id") and not opportunity.get("IsClosed"):
                ids = found.setdefault(role["ContactId"], [])
                if opportunity["Id"] not in ids:
                    ids.append(opportunity["Id"])
    return found


def _apply_fills(api, fills: list[tuple[_Item, str, dict]]) -> None:
    writes = [(item, lead_id, changes) for item, lead_id, changes in fills if changes]
    for start in range(0, len(writes), sf.COLLECTION_SIZE):
        chunk = writes[start:start + sf.COLLECTION_SIZE]
        results = api.update("Lead", [{"Id": lead_id, **changes} for _, lead_id, changes in chunk])
        for (item, lead_id, changes), result in zip(chunk, results):
            if result.get("success"):
                _link(item, lead_id, "update lead", f"Lead {lead_id} (already held {item.out.contact_email})", changes)
            else:
                item.result = _error(item, "update lead", result, changes)
    for item, lead_id, changes in fills:
        if not changes:
            _link(item, lead_id, "link lead", f"Linked to the existing Lead {lead_id} ({item.out.contact_email}); "
                                              "left unchanged")


def _create(api, items: list[_Item]) -> None:
    for start in range(0, len(items), sf.COLLECTION_SIZE):
        chunk = items[start:start + sf.COLLECTION_SIZE]
        records = [{**i.props, sf.REFERRAL_ID_FIELD: i.out.portal_id, sf.SYNC_FIELD: True} for i in chunk]
        results = api.upsert("Lead", sf.REFERRAL_ID_FIELD, records)
        for item, result in zip(chunk, results):
            if result.get("success"):
                created = bool(result.get("created", True))
                _link(item, result["id"], "create lead" if created else "update lead", f"Lead {result['id']}",
                      item.props, created=created)
            else:
                item.result = _error(item, "upsert lead", result, item.props)


def _update(api, items: list[_Item]) -> None:
    changed = []
    for item in items:
        last = item.link.pushed_values or {}
        props = {k: v for k, v in item.props.items() if last.get(k) != v}
        if props:
            changed.append((item, props))
    for start in range(0, len(changed), sf.COLLECTION_SIZE):
        chunk = changed[start:start + sf.COLLECTION_SIZE]
        results = api.update("Lead", [{"Id": item.link.crm_id, **props} for item, props in chunk])
        for (item, props), result in zip(chunk, results):
            if result.get("success"):
                _link(item, item.link.crm_id, "update lead", f"Lead {item.link.crm_id}", props)
            else:
                item.result = _error(item, "update lead", result, props)


def _link(item: _Item, crm_id: str, action: str, message: str, sent: dict | None = None, *,
          created: bool = False) -> None:
    link = item.link
    link.crm_id = crm_id
    link.url = record_url(item.instance_url, crm_id)
    link.pushed_values = {**(link.pushed_values or {}), **(sent or {})}
    item.result = PushResult(link.id, "ok", action, created=created, message=message,
                             request_summary=request_summary(sent or {}))


def _error(item: _Item, action: str, result: dict, sent: dict) -> PushResult:
    errors = "; ".join(f"{e.get('statusCode', '')}: {e.get('message', '')}" for e in result.get("errors") or [])
    return PushResult(item.link.id, "error", action, message=f"Salesforce rejected the lead: {errors}"[:2000],
                      request_summary=request_summary(sent))


def record_url(instance_url: str, crm_id: str) -> str:
    """"View in Salesforce": the Lightning record page (the sandbox redirects it to its own page)."""
    sobject = "Opportunity" if is_opportunity(crm_id) else "Contact" if crm_id.startswith("003") else "Lead"
    return f"{instance_url.rstrip('/')}/lightning/r/{sobject}/{crm_id}/view"


def request_summary(props: dict) -> str:
    return json.dumps(props, sort_keys=True, default=str)[:500]


def explain(err: CrmError) -> str:
    return f"Salesforce answered {err.status or 'nothing'}: {sf.error_text(err)}"
