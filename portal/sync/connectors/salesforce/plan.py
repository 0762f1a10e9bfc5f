"""The dry run of a Salesforce push: the decisions `push.decide` makes for referrals (the duplicate
policy's look-ups, what a linked record sends) and those `deals` makes for deal registrations,
reported instead of written. Read calls only: SOQL queries (GETs, or GET subrequests of one
Composite call, as the push's own look-ups go).

Beyond what push reads, the plan reads the records it would write, so that it says what Salesforce
holds (old → new) and what the upsert on the portal's external id will find (a record a stopped run
made is updated, not created).
"""
from __future__ import annotations

from portal.sync import mapping
from portal.sync.connectors.base import Batch, FieldChange, Planned
from portal.sync.connectors.salesforce import client as sf
from portal.sync.connectors.salesforce import deals, organizations, push


def plan(api: sf.Salesforce, *, policy: str, mappings: list[mapping.Mapping], batch: Batch,
         sobject: str = push.LEAD, fields_of=None) -> list[Planned]:
    """Referrals (as Leads, or Contacts)."""
    items, writes = push.decide(api, policy=policy, mappings=mappings, batch=batch, sobject=sobject,
                                fields_of=fields_of)
    upserts = {id(item) for item in writes.upserts}
    ours = _read(api, sobject, sf.REFERRAL_ID_FIELD, [i.out.portal_id for i in writes.upserts],
                 {n for i in writes.upserts for n in i.props})
    wanted: dict[str, dict[str, set[str]]] = {}   # sobject -> record id -> field names
    for item in items:
        if item.result is None and id(item) not in upserts:
            holder = item.contact_id if push.is_opportunity(item.target) else item.target
            if holder:
                wanted.setdefault(push.sobject_of(holder), {}).setdefault(holder, set()).update(item.sent)
    held = {}
    for name, records in wanted.items():
        held.update(_read(api, name, "Id", list(records), {n for names in records.values() for n in names}))
    planned = []
    for item in items:
        portal_id, crm_id = item.out.portal_id, item.link.crm_id
        if item.result is not None:
            planned.append(Planned(portal_id, "skip", push.sobject_of(crm_id), crm_id, message=(
                "its Opportunity is Salesforce's" if push.is_opportunity(crm_id) else "nothing changed")))
        elif id(item) in upserts:
            planned.append(_upsert_plan(item, sobject, ours.get(portal_id)))
        else:
            planned.append(_write_plan(item, held))
    return planned


def _upsert_plan(item, sobject: str, record: dict | None) -> Planned:
    props = {**item.props, sf.REFERRAL_ID_FIELD: item.out.portal_id, sf.SYNC_FIELD: True}
    if record is None:
        return Planned(item.out.portal_id, "create", sobject, None, _changes({}, props))
    return Planned(item.out.portal_id, "update", sobject, record["Id"],
                   _changes(record, {k: v for k, v in props.items() if record.get(k) != v}),
                   message=f"already in Salesforce with this portal id")


def _write_plan(item, held: dict) -> Planned:
    verb, noun = item.action.split(" ", 1)
    if push.is_opportunity(item.target):
        # The referral follows the Contact's open Opportunity; the Contact gets what the policy writes.
        contact = held.get(item.contact_id, {})
        related = [Planned(item.out.portal_id, "update", push.CONTACT, item.contact_id,
                           _changes(contact, item.sent))] if item.sent else []
        return Planned(item.out.portal_id, "link", push.OPPORTUNITY, item.target, related=related,
                       message=item.message)
    record = held.get(item.target)
    if record is None:
        return Planned(item.out.portal_id, "error", push.sobject_of(item.target), item.target,
                       _changes({}, item.sent), message=f"{item.target} is no longer in Salesforce")
    if record.get("IsConverted"):
        return Planned(item.out.portal_id, "error", push.LEAD, item.target, _changes(record, item.sent),
                       message=f"Lead {item.target} was converted; the next pull follows it to its Opportunity")
    return Planned(item.out.portal_id, verb, noun.capitalize(), item.target, _changes(record, item.sent),
                   message=item.message)


def plan_deals(api: sf.Salesforce, *, contact_match: bool, batch: Batch) -> list[Planned]:
    """Deal registrations: a new one becomes a Lead, or an Opportunity on the one matching Contact's
    Account; a linked Lead gets what changed; an Opportunity only the registration's id, once."""
    new, leads, opportunities = deals.sort_items(batch.items)
    on_contacts = deals.contacts_of(api, new) if contact_match else {}
    planned = {}
    for out in new:
        contact = on_contacts.get(out.contact_email)
        if contact is not None:
            props = deals.opportunity_properties(out.values, contact["AccountId"])
            planned[out.portal_id] = Planned(out.portal_id, "create", push.OPPORTUNITY, None, _changes({}, props),
                                             message=f"on the Account of Contact {contact['Id']}")
        else:
            planned[out.portal_id] = Planned(out.portal_id, "create", push.LEAD, None,
                                             _changes({}, deals.lead_properties(out.values)))
    changed = {out.link.crm_id: (out, props) for out in leads if (props := deals.lead_changes(out))}
    held = _read(api, push.LEAD, "Id", list(changed), {n for _, props in changed.values() for n in props})
    for out in leads:
        if out.link.crm_id not in changed:
            planned[out.portal_id] = Planned(out.portal_id, "skip", push.LEAD, out.link.crm_id,
                                             message="nothing changed")
        else:
            planned[out.portal_id] = Planned(out.portal_id, "update", push.LEAD, out.link.crm_id,
                                             _changes(held.get(out.link.crm_id, {}), changed[out.link.crm_id][1]))
    for out in opportunities:
        if deals.needs_stamp(out):
            planned[out.portal_id] = Planned(out.portal_id, "link", push.OPPORTUNITY, out.link.crm_id,
                                             _changes({}, {deals.DEAL_ID_FIELD: out.portal_id}))
        else:
            planned[out.portal_id] = Planned(out.portal_id, "skip", push.OPPORTUNITY, out.link.crm_id,
                                             message="its Opportunity is Salesforce's")
    return [planned[o.portal_id] for o in batch.items]


def plan_organizations(api: sf.Salesforce, *, options: dict, mappings: list[mapping.Mapping], batch: Batch,
                       planned_orgs: set[str]) -> list[Planned]:
    """Organizations (Accounts) and their users (Contacts), as `organizations.decide` decides them.
    `planned_orgs`: the organizations an earlier batch of the same dry run syncs, so their users
    are planned as the real run pushes them, after their Account exists."""
    if batch.entity == organizations.orgs.USER.name:
        org_links = batch.context.setdefault("org_links", {})
        for org_id in planned_orgs:
            if org_links.get(org_id, (None, None))[1] is None:
                org_links[org_id] = ("pending", "(the Account this run makes)")
    sobject, id_field, results, new, linked = organizations.decide(api, options=options, mappings=mappings,
                                                                   batch=batch)
    planned: dict[str, Planned] = {}
    for item in batch.items:
        result = results.get(item.link.id)
        if result is not None:
            planned[item.portal_id] = Planned(item.portal_id, "skip" if result.status == "skipped" else "error",
                                              sobject, item.link.crm_id, message=result.message or "not synced here")
    names = {k for _, props in new + linked for k, v in props.items() if not isinstance(v, dict)} - {"RecordTypeId"}
    ours = _read(api, sobject, id_field, [item.portal_id for item, _ in new], names)
    for item, props in new:
        record = ours.get(item.portal_id)
        sent = {**props, id_field: item.portal_id}
        if record is None:
            planned[item.portal_id] = Planned(item.portal_id, "create", sobject, None, _changes({}, sent))
        else:
            planned[item.portal_id] = Planned(item.portal_id, "update", sobject, record["Id"], _changes(
                record, {k: v for k, v in sent.items() if record.get(k) != v}),
                message="already in Salesforce with this portal id")
    changed = [(item, organizations.changed_props(item, props, id_field)) for item, props in linked]
    held = _read(api, sobject, "Id", [item.link.crm_id for item, send in changed if send], names | {id_field})
    for item, send in changed:
        if send:
            planned[item.portal_id] = Planned(item.portal_id, "update", sobject, item.link.crm_id,
                                              _changes(held.get(item.link.crm_id, {}), send))
        else:
            planned[item.portal_id] = Planned(item.portal_id, "skip", sobject, item.link.crm_id,
                                              message="nothing changed")
    if batch.entity == organizations.orgs.ORGANIZATION.name:
        planned_orgs.update(p.portal_id for p in planned.values() if p.action in ("create", "update", "skip"))
    return [planned[item.portal_id] for item in batch.items]


def _read(api, sobject: str, key: str, values: list[str], names: set[str]) -> dict[str, dict]:
    """Records of `sobject` whose `key` field is one of `values`, by that value (a query per 200)."""
    found: dict[str, dict] = {}
    if not values:
        return found
    extra = {"Id"} | ({"IsConverted"} if sobject == push.LEAD else set())
    fields = ", ".join(sorted(names | extra | {key}))
    for start in range(0, len(values), sf.IN_VALUES):
        chunk = ", ".join(sf.quote(v) for v in values[start:start + sf.IN_VALUES])
        for record in api.query(f"SELECT {fields} FROM {sobject} WHERE {key} IN ({chunk})"):
            found.setdefault(str(record.get(key)), record)
    return found


def _changes(record: dict, props: dict) -> list[FieldChange]:
    return [FieldChange(k, record.get(k) if record.get(k) not in ("", None) else None, v)
            for k, v in sorted(props.items())]
