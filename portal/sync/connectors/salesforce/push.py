"""Push a batch of referrals to Salesforce as Leads, or as Contacts where the connection picked
Referral Factory's "create a new Contact" option. Two Composite calls a batch at most (FACTS §2.5:
a Composite call counts as one API call):
  1. for the records not linked yet, one call with three queries — the Leads, the Contacts and the
     Contacts' Opportunity roles that hold their emails — and the duplicate policy decides: a
     matching record's mapped fields are updated / filled where empty / left, and it is linked; a
     Contact with exactly one open Opportunity links the referral to that Opportunity;
  2. one call with every write: new records as a Collections upsert on `Portal_Referral_Id__c` (a
     re-run after a crash finds what the last run made), the changes of linked and matched records
     as a Collections update by Id.
Whatever the policy, a record the portal links to carries the portal's own fields (its id, the
"Sync with Portal" checkbox), so the pull sees its changes. A link that points at an Opportunity (a
converted Lead, a Contact's open deal) is Salesforce's now: nothing is sent.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from portal.models.crm import ExistingPolicy
from portal.sync import mapping
from portal.sync.connectors.base import Batch, Outgoing, PushResult
from portal.sync.connectors.salesforce import client as sf
from portal.sync.http import CrmError

RECORD = "deal"              # the mapping object of the referral's own record (the Lead or Contact)
LEAD, CONTACT, OPPORTUNITY, ACCOUNT = "Lead", "Contact", "Opportunity", "Account"
# Salesforce id key prefixes (FACTS §2); an organization's link holds an Account's.
PREFIXES = {"00Q": LEAD, "003": CONTACT, "006": OPPORTUNITY, "001": ACCOUNT}
SUBREQUESTS_PER_CALL = 5     # collections or queries in one Composite call


@dataclass
class _Item:
    out: Outgoing
    props: dict = field(default_factory=dict)
    result: PushResult | None = None
    # What linking it means once its writes succeed (None: it is created by the upsert).
    target: str | None = None
    action: str = ""
    message: str = ""
    sent: dict = field(default_factory=dict)
    contact_id: str | None = None
    company_id: str | None = None
    failure: str | None = None
    created: bool = False

    @property
    def link(self):
        return self.out.link

    def plan(self, target: str, action: str, message: str, sent: dict | None = None) -> None:
        self.target, self.action, self.message, self.sent = target, action, message, dict(sent or {})


@dataclass
class _Writes:
    """Every write of a batch: upserts of new records, and one update per record id (merged)."""

    sobject: str
    upserts: list[_Item] = field(default_factory=list)
    updates: dict[str, tuple[str, dict, list[_Item]]] = field(default_factory=dict)

    def update(self, item: _Item, record_id: str, values: dict) -> None:
        if not values:
            return
        sobject, merged, items = self.updates.setdefault(record_id, (sobject_of(record_id), {}, []))
        merged.update(values)
        if item not in items:
            items.append(item)


def sobject_of(crm_id: str | None) -> str:
    return PREFIXES.get((crm_id or "")[:3], LEAD)


def is_opportunity(crm_id: str | None) -> bool:
    return bool(crm_id) and sobject_of(crm_id) == OPPORTUNITY


def push(api: sf.Salesforce, *, policy: str, mappings: list[mapping.Mapping], batch: Batch,
         sobject: str = LEAD, fields_of=None) -> list[PushResult]:
    """`sobject`: what a referral becomes (Lead or Contact); `fields_of(sobject)`: the fields an
    object has (its describe), so a Lead's mapping never sends a Contact a field it lacks."""
    instance_url = api.instance_url  # logs in if need be: every path below calls Salesforce
    items, writes = decide(api, policy=policy, mappings=mappings, batch=batch, sobject=sobject, fields_of=fields_of)
    _write(api, writes)
    for item in items:
        if item.result is None:
            _finish(item, instance_url, sobject)
    return [i.result for i in items]


def decide(api: sf.Salesforce, *, policy: str, mappings: list[mapping.Mapping], batch: Batch,
           sobject: str = LEAD, fields_of=None) -> tuple[list[_Item], _Writes]:
    """What the push writes (reads only: the duplicate look-ups): each item's plan (`target`,
    `action`, `sent`; an unchanged one is skipped) and the batch's writes. The dry run reports it."""
    # A mapped field the object lacks (a Contact has no Company; an org without the referrer
    # fields) is left out; "Test connection" names it.
    own_fields = fields_of(sobject) if fields_of else None
    items = [_Item(o, _only(mapping.push_properties(mappings, RECORD, o.values), own_fields)) for o in batch.items]
    writes = _Writes(sobject)
    new = []
    for item in items:
        if is_opportunity(item.link.crm_id):
            item.result = PushResult(item.link.id, "skipped")
        elif item.link.crm_id:
            _plan_update(item, writes)
        else:
            new.append(item)
    _match_existing(api, policy, sobject, new, writes, fields_of)
    return items, writes


def _only(props: dict, names: set[str] | None) -> dict:
    return props if names is None else {k: v for k, v in props.items() if k in names}


def _plan_update(item: _Item, writes: _Writes) -> None:
    """A linked record: the fields that changed since the last push, by Id."""
    last = item.link.pushed_values or {}
    changed = {k: v for k, v in item.props.items() if last.get(k) != v}
    noun = sobject_of(item.link.crm_id).lower()
    if not changed:
        item.result = PushResult(item.link.id, "skipped")
        return
    item.plan(item.link.crm_id, f"update {noun}", f"{sobject_of(item.link.crm_id)} {item.link.crm_id}", changed)
    writes.update(item, item.link.crm_id, changed)


def _match_existing(api, policy: str, sobject: str, items: list[_Item], writes: _Writes, fields_of) -> None:
    """The duplicate policy for records not linked yet; the others go to the upsert."""
    emails = sorted({i.out.contact_email for i in items if i.out.contact_email})
    if not emails:
        writes.upserts.extend(items)
        return
    found = _look_up(api, sobject, emails, sorted({n for i in items for n in i.props}), fields_of)
    contact_fields = fields_of(CONTACT) if fields_of else None
    claimed: set[str] = set()   # a record one referral of the batch took over: the next one gets its own
    for item in items:
        email = item.out.contact_email
        lead = found.leads.get(email) if email else None
        contact = found.contacts.get(email) if email else None
        if lead is not None and _ours_or_free(lead, item) and lead["Id"] not in claimed:
            if lead.get(sf.REFERRAL_ID_FIELD) == item.out.portal_id:
                writes.upserts.append(item)  # ours already (a run that crashed before its commit)
                continue
            claimed.add(lead["Id"])
            _take_over(item, writes, policy, lead, item.props, "lead")
            continue
        opportunities = found.open_opportunities.get(contact["Id"], []) if contact else []
        if len(opportunities) == 1:
            _link_opportunity(item, writes, policy, contact, opportunities[0], _only(item.props, contact_fields),
                              claimed)
            continue
        if sobject == CONTACT and contact is not None and _ours_or_free(contact, item) \
                and contact["Id"] not in claimed:
            if contact.get(sf.REFERRAL_ID_FIELD) == item.out.portal_id:
                writes.upserts.append(item)
                continue
            claimed.add(contact["Id"])
            _take_over(item, writes, policy, contact, item.props, "contact")
            item.contact_id, item.company_id = contact["Id"], contact.get("AccountId")
            continue
        writes.upserts.append(item)


def _ours_or_free(record: dict, item: _Item) -> bool:
    return record.get(sf.REFERRAL_ID_FIELD) in (None, "", item.out.portal_id)


def _take_over(item: _Item, writes: _Writes, policy: str, record: dict, props: dict, noun: str) -> None:
    """Link an existing Lead (or Contact) that holds the referral's email, as the policy says."""
    changes = _changes_for(policy, props, record)
    writes.update(item, record["Id"], {**changes, sf.REFERRAL_ID_FIELD: item.out.portal_id, sf.SYNC_FIELD: True})
    label = noun.capitalize()
    if changes:
        item.plan(record["Id"], f"update {noun}",
                  f"{label} {record['Id']} already held {item.out.contact_email}: {_policy_words(policy)}", changes)
    else:
        item.plan(record["Id"], f"link {noun}",
                  f"Linked to the existing {label} {record['Id']} ({item.out.contact_email}); its fields were left "
                  "as they were")


def _link_opportunity(item: _Item, writes: _Writes, policy: str, contact: dict, opportunity: dict, props: dict,
                      claimed: set[str]) -> None:
    """A Contact with exactly one open Opportunity: the referral follows that Opportunity."""
    changes = _changes_for(policy, props, contact)
    writes.update(item, contact["Id"], {**changes, sf.SYNC_FIELD: True})
    if opportunity.get(sf.REFERRAL_ID_FIELD) in (None, "") and opportunity["Id"] not in claimed:
        claimed.add(opportunity["Id"])
        writes.update(item, opportunity["Id"], {sf.REFERRAL_ID_FIELD: item.out.portal_id, sf.SYNC_FIELD: True})
    item.contact_id, item.company_id = contact["Id"], contact.get("AccountId")
    item.plan(opportunity["Id"], "link opportunity",
              f"Linked to the open Opportunity {opportunity['Id']} of Contact {contact['Id']} "
              f"({item.out.contact_email})" + (f"; the Contact: {_policy_words(policy)}" if changes else ""), changes)


def _changes_for(policy: str, props: dict, record: dict) -> dict:
    if policy == ExistingPolicy.UPDATE.value:
        return {k: v for k, v in props.items() if k != "Email" and record.get(k) != v}
    if policy == ExistingPolicy.FILL_EMPTY.value:
        return {k: v for k, v in props.items() if k != "Email" and record.get(k) in (None, "")}
    return {}


def _policy_words(policy: str) -> str:
    return {ExistingPolicy.UPDATE.value: "its mapped fields were updated",
            ExistingPolicy.FILL_EMPTY.value: "its empty fields were filled"}.get(policy, "left as it was")


@dataclass
class _Found:
    leads: dict = field(default_factory=dict)                 # email -> the oldest unconverted Lead
    contacts: dict = field(default_factory=dict)              # email -> the oldest Contact
    open_opportunities: dict = field(default_factory=dict)    # contact id -> [opportunity record]


def _look_up(api, sobject: str, emails: list[str], names: list[str], fields_of) -> _Found:
    """The Leads, Contacts and open Opportunity roles of these emails: one Composite call per 200."""
    found = _Found()
    contact_fields = fields_of(CONTACT) if fields_of else set(names)
    lead_names = ", ".join(sorted(set(names) | {"Id", "Email", sf.REFERRAL_ID_FIELD}))
    contact_names = ", ".join(sorted({n for n in names if n in contact_fields}
                                     | {"Id", "Email", "AccountId", sf.REFERRAL_ID_FIELD}))
    for start in range(0, len(emails), sf.IN_VALUES):
        chunk = ", ".join(sf.quote(e) for e in emails[start:start + sf.IN_VALUES])
        soql = {"contacts": f"SELECT {contact_names} FROM Contact WHERE Email IN ({chunk}) ORDER BY CreatedDate ASC",
                "roles": "SELECT ContactId, Opportunity.Id, Opportunity.IsClosed, "
                         f"Opportunity.{sf.REFERRAL_ID_FIELD} FROM OpportunityContactRole "
                         f"WHERE Contact.Email IN ({chunk})"}
        if sobject == LEAD:
            soql["leads"] = (f"SELECT {lead_names} FROM Lead WHERE Email IN ({chunk}) AND IsConverted = false "
                             "ORDER BY CreatedDate ASC")
        answers = api.queries(soql)
        for record in answers.get("leads", []):
            found.leads.setdefault((record.get("Email") or "").lower(), record)
        for record in answers["contacts"]:
            found.contacts.setdefault((record.get("Email") or "").lower(), record)
        for role in answers["roles"]:
            opportunity = role.get("Opportunity") or {}
            if opportunity.get("Id") and not opportunity.get("IsClosed"):
                listed = found.open_opportunities.setdefault(role["ContactId"], [])
                if opportunity["Id"] not in [o["Id"] for o in listed]:
                    listed.append(opportunity)
    return found


def _write(api, writes: _Writes) -> None:
    """Every write of the batch in as few Composite calls as the limits allow (usually one)."""
    subrequests, owners = [], {}
    for start in range(0, len(writes.upserts), sf.COLLECTION_SIZE):
        chunk = writes.upserts[start:start + sf.COLLECTION_SIZE]
        reference = f"upsert{start}"
        owners[reference] = [(item, [item]) for item in chunk]
        subrequests.append(api.upsert_request(
            writes.sobject, sf.REFERRAL_ID_FIELD,
            [{**i.props, sf.REFERRAL_ID_FIELD: i.out.portal_id, sf.SYNC_FIELD: True} for i in chunk], reference))
    updates = list(writes.updates.values())
    for start in range(0, len(updates), sf.COLLECTION_SIZE):
        chunk = updates[start:start + sf.COLLECTION_SIZE]
        reference = f"update{start}"
        owners[reference] = [(None, items) for _, _, items in chunk]
        record_ids = list(writes.updates)[start:start + sf.COLLECTION_SIZE]
        subrequests.append(api.update_request([(sobject, {"Id": rid, **values}) for rid, (sobject, values, _)
                                               in zip(record_ids, chunk)], reference))
    for start in range(0, len(subrequests), SUBREQUESTS_PER_CALL):
        answers = api.composite(subrequests[start:start + SUBREQUESTS_PER_CALL])
        for sub in subrequests[start:start + SUBREQUESTS_PER_CALL]:
            status, body = answers.get(sub["referenceId"], (500, None))
            _record(sub["referenceId"], owners[sub["referenceId"]], status, body, writes.sobject)


def _record(reference: str, owners: list, status: int, body, sobject: str) -> None:
    """Per-record results of one Collections subrequest, onto the items that needed them."""
    if status >= 400 or not isinstance(body, list):
        failure = sf.error_text(sf.subrequest_error(status, body))
        for _, items in owners:
            for item in items:
                item.failure = item.failure or failure
        return
    for (created_item, items), result in zip(owners, body):
        if not result.get("success"):
            errors = "; ".join(f"{e.get('statusCode', '')}: {e.get('message', '')}" for e in result.get("errors") or [])
            for item in items:
                item.failure = item.failure or errors
        elif created_item is not None:
            created = bool(result.get("created", True))
            noun = sobject.lower()
            created_item.plan(result["id"], f"create {noun}" if created else f"update {noun}",
                              f"{sobject} {result['id']}", created_item.props)
            created_item.created = created


def _finish(item: _Item, instance_url: str, sobject: str) -> None:
    if item.failure is not None or item.target is None:
        noun = (sobject_of(item.target) if item.target else sobject).lower()
        item.result = PushResult(item.link.id, "error", item.action or f"upsert {noun}",
                                 message=f"Salesforce rejected the {noun}: {item.failure or 'no answer'}"[:2000],
                                 request_summary=request_summary(item.sent or item.props))
        return
    link = item.link
    link.crm_id = item.target
    link.url = record_url(instance_url, item.target)
    if item.contact_id:
        link.contact_crm_id, link.company_crm_id = item.contact_id, item.company_id
    # What Salesforce holds now is the baseline: a later push sends only what the portal changes.
    link.pushed_values = {**(link.pushed_values or {}), **item.props}
    item.result = PushResult(link.id, "ok", item.action, created=item.created, message=item.message,
                             request_summary=request_summary(item.sent))


def record_url(instance_url: str, crm_id: str) -> str:
    """"View in Salesforce": the Lightning record page (the sandbox redirects it to its own page)."""
    return f"{instance_url.rstrip('/')}/lightning/r/{sobject_of(crm_id)}/{crm_id}/view"


def request_summary(props: dict) -> str:
    return json.dumps(props, sort_keys=True, default=str)[:500]


def explain(err: CrmError) -> str:
    return f"Salesforce answered {err.status or 'nothing'}: {sf.error_text(err)}"
