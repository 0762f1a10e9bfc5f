"""Organization sync with Salesforce (issue #14): an organization is an Account, upserted on
`Portal_Org_Id__c` with "Sync with Portal" set; its users are Contacts on that Account, upserted on
`Portal_User_Id__c` with the Account named by its external id in the same write (FACTS §2.4), so a
retried push never makes a second record. Each step is one sObject Collections call per 200 records.

Records the portal has not linked yet: an Account is created (with the record type chosen for its
kind); a user whose email is already a Contact on the org is linked to that Contact instead of
making a second one (one SOQL query per batch). Linked records: an update by Id of what changed
since the last push. Changes come back from the flagged Accounts (and the Contacts on them).
"""
from __future__ import annotations

import json
from typing import Iterator

from portal.extensions import db
from portal.models import CrmLink
from portal.models.crm import LinkState
from portal.sync import entity_organizations as orgs
from portal.sync import mapping
from portal.sync.connectors.base import Batch, Change, PushResult
from portal.sync.connectors.salesforce import client as sf
from portal.sync.connectors.salesforce import pull

ORG_ID_FIELD = "Portal_Org_Id__c"
USER_ID_FIELD = "Portal_User_Id__c"
STATUS_FIELD = "Portal_Partner_Status__c"
ACTIVE_FIELD = "Portal_Active__c"
OVERLAP_MS = 1_000
ACCOUNT_ALWAYS = ("Id", "Name", "SystemModstamp", ORG_ID_FIELD, sf.SYNC_FIELD)
CONTACT_ALWAYS = ("Id", "AccountId", "Email", "SystemModstamp", USER_ID_FIELD)
# What organization sync needs in the org, and how an admin adds it (Test connection lists what lacks).
NEEDED_FIELDS = {
    ("Account", ORG_ID_FIELD): "Text(64), External ID, Unique",
    ("Account", sf.SYNC_FIELD): "Checkbox",
    ("Account", STATUS_FIELD): "Picklist: Active Partner, Inactive Partner, Active Distributor, Inactive Distributor",
    ("Contact", USER_ID_FIELD): "Text(64), External ID, Unique",
    ("Contact", ACTIVE_FIELD): "Checkbox",
}
STATUS_VALUES = {"active_partner": "Active Partner", "inactive_partner": "Inactive Partner",
                 "active_distributor": "Active Distributor", "inactive_distributor": "Inactive Distributor"}
SOBJECT = {orgs.ORG_OBJECT: "Account", orgs.USER_OBJECT: "Contact"}


def default_mappings() -> list[mapping.Mapping]:
    return [
        mapping.Mapping(orgs.ORG_OBJECT, "Name", "name", direction="both"),
        mapping.Mapping(orgs.ORG_OBJECT, STATUS_FIELD, "partner_status", direction="both",
                        value_map=dict(STATUS_VALUES)),
        mapping.Mapping(orgs.ORG_OBJECT, "Website", "domain", direction="both"),
        mapping.Mapping(orgs.ORG_OBJECT, "BillingCountry", "country", direction="both"),
        mapping.Mapping(orgs.ORG_OBJECT, "Type", None, default_value="Channel Partner / Reseller"),
        mapping.Mapping(orgs.USER_OBJECT, "LastName", "last_name", direction="both", default_value="(unknown)"),
        mapping.Mapping(orgs.USER_OBJECT, "FirstName", "first_name", direction="both"),
        mapping.Mapping(orgs.USER_OBJECT, "Email", "email", direction="both"),
        mapping.Mapping(orgs.USER_OBJECT, ACTIVE_FIELD, "active", direction="both"),
    ]


def mappings_of(mappings: list[mapping.Mapping], crm_object: str) -> list[mapping.Mapping]:
    """The connection's mappings of one object; a connection made before organization sync has
    none yet and gets the defaults."""
    own = [m for m in mappings if m.crm_object == crm_object]
    return own or [m for m in default_mappings() if m.crm_object == crm_object]


def missing(describe) -> list[tuple[str, str]]:
    """What organization sync needs that the org lacks: ("Account.Portal_Org_Id__c", how to add it),
    and the partner status picklist's missing values. `describe(sobject)` is the live describe."""
    found = []
    for sobject in ("Account", "Contact"):
        fields = {f["name"]: f for f in describe(sobject).get("fields", [])}
        for (owner, name), kind in NEEDED_FIELDS.items():
            if owner == sobject and name not in fields:
                found.append((f"{sobject}.{name}", f"Setup → Object Manager → {sobject} → Fields & Relationships "
                                                   f"→ New ({kind})"))
        status = fields.get(STATUS_FIELD) if sobject == "Account" else None
        if status is not None:
            values = {p.get("value") for p in status.get("picklistValues") or [] if p.get("active", True)}
            for value in STATUS_VALUES.values():
                if value not in values:
                    found.append((f"Account.{STATUS_FIELD} value “{value}”",
                                  f"Setup → Object Manager → Account → {STATUS_FIELD} → Values → New"))
    return found


def record_types(api: sf.Salesforce) -> dict[str, list[dict]]:
    """The org's active record types of Accounts and Contacts (the RecordType setup object)."""
    found: dict[str, list[dict]] = {"Account": [], "Contact": []}
    for record in api.query("SELECT Id, Name, DeveloperName, SobjectType FROM RecordType "
                            "WHERE SobjectType IN ('Account', 'Contact') AND IsActive = true ORDER BY Name"):
        found.setdefault(record["SobjectType"], []).append({"id": record["Id"], "name": record["Name"]})
    return found


# ---- push ---------------------------------------------------------------------------------------

def prepare(batch: Batch, connection_id: int) -> None:
    """For a batch of users: their organizations' links here (a user syncs only with its organization)."""
    if batch.entity != orgs.USER.name:
        return
    org_ids = {int(item.values["organization_id"]) for item in batch.items}
    rows = db.session.execute(db.select(CrmLink.entity_id, CrmLink.state, CrmLink.crm_id).where(
        CrmLink.connection_id == connection_id, CrmLink.entity_type == orgs.ORGANIZATION.name,
        CrmLink.entity_id.in_(org_ids))).all()
    batch.context["org_links"] = {str(entity_id): (state, crm_id) for entity_id, state, crm_id in rows}


def push(api: sf.Salesforce, *, options: dict, mappings: list[mapping.Mapping], batch: Batch) -> list[PushResult]:
    instance_url = api.instance_url
    sobject, id_field, results, new, linked = decide(api, options=options, mappings=mappings, batch=batch)
    _upsert(api, sobject, id_field, new, results, instance_url)
    _update(api, sobject, id_field, linked, results, instance_url)
    return [results.get(i.link.id) or PushResult(i.link.id, "skipped") for i in batch.items]


def decide(api: sf.Salesforce, *, options: dict, mappings: list[mapping.Mapping], batch: Batch):
    """What the push writes (reads only: a user's Contact by email): (sobject, its portal-id field,
    the results decided already (skipped, refused), the new records to upsert, the linked ones to
    update) — shared with the dry run (`plan.plan_organizations`)."""
    if batch.entity == orgs.ORGANIZATION.name:
        return ("Account", ORG_ID_FIELD,
                *_sort_organizations(options, mappings_of(mappings, orgs.ORG_OBJECT), batch))
    return ("Contact", USER_ID_FIELD, *_sort_users(api, options, mappings_of(mappings, orgs.USER_OBJECT), batch))


def _record_type(options: dict, sobject: str, kind: str | None) -> str | None:
    settings = orgs.settings(options)
    if not settings.get("record_types") or kind not in orgs.MANAGED_KINDS:
        return None
    return (settings.get("record_type_ids") or {}).get(f"{sobject.lower()}_{kind}") or None


def _sort_organizations(options, mappings, batch: Batch):
    kinds = orgs.selected_kinds(options)
    results, new, linked = {}, [], []
    for item in batch.items:
        props = {**mapping.push_properties(mappings, orgs.ORG_OBJECT, item.values), sf.SYNC_FIELD: True}
        if item.link.crm_id:
            linked.append((item, props))
        elif item.values.get("partner_status") not in kinds:
            results[item.link.id] = PushResult(item.link.id, "skipped")  # a kind this connection does not sync
        else:
            record_type = _record_type(options, "Account", item.values.get("kind"))
            new.append((item, {**props, **({"RecordTypeId": record_type} if record_type else {})}))
    return results, new, linked


def _sort_users(api, options, mappings, batch: Batch):
    org_links = batch.context.get("org_links", {})
    results, new, linked = {}, [], []
    for item in batch.items:
        org_id = item.values["organization_id"]
        state, account_id = org_links.get(org_id, (None, None))
        if state in (None, LinkState.UNLINKED.value):
            results[item.link.id] = PushResult(item.link.id, "skipped")  # its organization does not sync here
            continue
        if not account_id:
            results[item.link.id] = PushResult(item.link.id, "error", "upsert contact",
                                               message="Its organization's Account is not in Salesforce yet "
                                                       "(see the organization's last error).")
            continue
        props = {**mapping.push_properties(mappings, orgs.USER_OBJECT, item.values), sf.SYNC_FIELD: True}
        if item.link.crm_id:
            linked.append((item, props))
        else:
            record_type = _record_type(options, "Contact", item.values.get("partner_status", "").split("_")[-1])
            new.append((item, {**props, **({"RecordTypeId": record_type} if record_type else {}),
                               "Account": {ORG_ID_FIELD: org_id}}))
    linked += _existing_contacts(api, new)
    new = [(item, props) for item, props in new if not item.link.crm_id]
    return results, new, linked


def _existing_contacts(api, new: list) -> list:
    """Users not linked yet whose email is a Contact the portal did not make: linked to it (one query)."""
    emails = sorted({(item.values.get("email") or "").lower() for item, _ in new if item.values.get("email")})
    found = {}
    for start in range(0, len(emails), sf.IN_VALUES):
        chunk = ", ".join(sf.quote(e) for e in emails[start:start + sf.IN_VALUES])
        for record in api.query(f"SELECT Id, Email, {USER_ID_FIELD} FROM Contact WHERE Email IN ({chunk}) "
                                "ORDER BY CreatedDate ASC"):
            if not record.get(USER_ID_FIELD):
                found.setdefault((record.get("Email") or "").lower(), record["Id"])
    matched = []
    for item, props in new:
        contact_id = found.pop((item.values.get("email") or "").lower(), None)
        if contact_id:
            item.link.crm_id = contact_id
            matched.append((item, {k: v for k, v in props.items() if k != "RecordTypeId"}))
    return matched


def _upsert(api, sobject: str, id_field: str, items: list, results: dict, instance_url: str) -> None:
    for start in range(0, len(items), sf.COLLECTION_SIZE):
        chunk = items[start:start + sf.COLLECTION_SIZE]
        answers = api.upsert(sobject, id_field, [{**props, id_field: item.portal_id} for item, props in chunk])
        for (item, props), answer in zip(chunk, answers):
            created = bool(answer.get("created", True))
            noun = sobject.lower()
            results[item.link.id] = _result(item, answer, f"create {noun}" if created else f"update {noun}",
                                            {**props, id_field: item.portal_id}, instance_url, sobject,
                                            created=created)


def _update(api, sobject: str, id_field: str, items: list, results: dict, instance_url: str) -> None:
    """Linked records: what changed since the last push, and the portal's id once (a linked record
    the wizard matched, or one the pull made, does not carry it yet)."""
    changed = []
    for item, props in items:
        if send := changed_props(item, props, id_field):
            changed.append((item, send))
        else:
            results[item.link.id] = PushResult(item.link.id, "skipped")
    for start in range(0, len(changed), sf.COLLECTION_SIZE):
        chunk = changed[start:start + sf.COLLECTION_SIZE]
        answers = api.update(sobject, [{"Id": item.link.crm_id, **props} for item, props in chunk])
        for (item, props), answer in zip(chunk, answers):
            results[item.link.id] = _result(item, answer, f"update {sobject.lower()}", props, instance_url, sobject)


def changed_props(item, props: dict, id_field: str) -> dict:
    """A linked record's values that differ from the last push (and the portal's id, once)."""
    last = item.link.pushed_values or {}
    props = {k: v for k, v in {**props, id_field: item.portal_id}.items() if k != "RecordTypeId"}
    return {k: v for k, v in props.items() if _text(last.get(k)) != _text(v)}


def _result(item, answer: dict, action: str, sent: dict, instance_url: str, sobject: str, *,
            created: bool = False) -> PushResult:
    summary = json.dumps(sent, sort_keys=True, default=str)[:500]
    if not answer.get("success"):
        errors = "; ".join(f"{e.get('statusCode', '')}: {e.get('message', '')}" for e in answer.get("errors") or [])
        return PushResult(item.link.id, "error", action, message=f"Salesforce rejected the {sobject}: {errors}"[:2000],
                          request_summary=summary)
    link = item.link
    link.crm_id = answer.get("id") or link.crm_id
    link.url = f"{instance_url.rstrip('/')}/lightning/r/{sobject}/{link.crm_id}/view"
    link.pushed_values = {**(link.pushed_values or {}), **{k: _text(v) for k, v in sent.items() if k != "Account"}}
    return PushResult(link.id, "ok", action, created=created, message=f"{sobject} {link.crm_id}",
                      request_summary=summary)


def _text(value):
    """A value as the pull reports it (booleans "true"/"false"), so a push and a pull compare alike."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


# ---- pull ---------------------------------------------------------------------------------------

def changes(api: sf.Salesforce, entity: str, watermark_ms: int, properties: list[str], fields_of) -> Iterator[Change]:
    """Flagged Accounts (and the Contacts on them) changed since the watermark, oldest first, then the
    deleted ones (getDeleted, in the same Composite call): the engine unlinks their organization or user."""
    start_ms = max(0, watermark_ms - OVERLAP_MS)
    since = sf.soql_datetime(start_ms)
    if entity == orgs.ORGANIZATION.name:
        sobject, always, portal_id = "Account", ACCOUNT_ALWAYS, ORG_ID_FIELD
        where = f"{sf.SYNC_FIELD} = true"
    else:
        sobject, always, portal_id = "Contact", CONTACT_ALWAYS, USER_ID_FIELD
        where = f"Account.{sf.SYNC_FIELD} = true"
    known = fields_of(sobject)
    names = sorted(set(always) | {p for p in properties if p in known})
    soql = (f"SELECT {', '.join(names)} FROM {sobject} WHERE {where} AND SystemModstamp >= {since} "
            "ORDER BY SystemModstamp ASC")
    found = api.queries({"changed": soql}, extra=pull.deleted_requests(api, start_ms, (sobject,)))
    for record in found["changed"]:
        props = {k: _text(v) for k, v in record.items() if k not in ("attributes", "Id", "SystemModstamp")}
        yield Change(record["Id"], record.get(portal_id) or None, sf.to_ms(record.get("SystemModstamp")), props,
                     parent_id=record.get("AccountId"))
    yield from pull.deletions(found, (sobject,))
