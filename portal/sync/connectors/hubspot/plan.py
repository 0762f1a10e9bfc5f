"""The dry run of a HubSpot push: the decisions `push` would carry out (`decide`), made from the same
reads and reported instead of sent. Read calls only: contacts `batch/read`, companies `search`
(a POST that only reads), deals `batch/read`, a property's definition (GET).

Beyond what push reads, the plan reads the deals themselves, so that it says what HubSpot holds
(old → new) and what the upsert by portal id will find: a deal a stopped run made is updated, a
linked deal deleted in HubSpot is created again.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from portal.sync import mapping
from portal.sync.connectors.base import Batch, FieldChange, Outgoing, Planned
from portal.sync.connectors.hubspot import client as hubspot
from portal.sync.connectors.hubspot import decide


@dataclass
class Memory:
    """What earlier batches of the same dry run would have created, so a later record sharing the
    email or the domain links to it, as it would in the real run."""

    contacts: dict[str, str] = field(default_factory=dict)   # email -> the portal id whose run creates it
    companies: dict[str, str] = field(default_factory=dict)  # domain -> likewise
    has_deal_id_property: bool | None = None


def plan(api: hubspot.HubSpot, *, policy: str, mappings: list[mapping.Mapping], batch: Batch,
         memory: Memory) -> list[Planned]:
    outs = batch.items
    contacts = _related(outs, decide.contact_needed, lambda o: o.contact_email, memory.contacts, "Contact",
                        _contact_writes(api, policy, mappings, outs, memory))
    companies = _related(outs, decide.company_needed, lambda o: o.company_domain, memory.companies, "Company",
                         _company_writes(api, policy, mappings, batch, memory))
    deals = _deal_plans(api, mappings, outs, memory)
    for out, deal in zip(outs, deals):
        deal.related = [p for p in (contacts.get(out.portal_id), companies.get(out.portal_id)) if p]
    return deals


def _contact_writes(api, policy, mappings, outs: list[Outgoing], memory: Memory) -> dict[str, decide.Write]:
    needed = [o for o in outs if decide.contact_needed(o) and o.contact_email not in memory.contacts]
    by_email = decide.contact_props(mappings, needed)
    return decide.contact_writes(policy, by_email, decide.read_contacts(api, by_email))


def _company_writes(api, policy, mappings, batch: Batch, memory: Memory) -> dict[str, decide.Write]:
    needed = [o for o in batch.items if decide.company_needed(o) and o.company_domain not in memory.companies]
    by_domain = decide.company_props(mappings, needed)
    known = dict(batch.context.get("companies") or {})
    found = decide.find_companies(api, [d for d in by_domain if d not in known], by_domain)
    return decide.company_writes(policy, by_domain, known, found)


def _related(outs, needed, key_of, created: dict[str, str], noun: str,
             writes: dict[str, decide.Write]) -> dict[str, Planned]:
    """Portal id -> the plan for its contact (or company). One write serves every record that shares
    the email (domain): the first record carries it, the others link to the same record."""
    plans = {}
    for out in outs:
        if not needed(out):
            continue
        key = key_of(out)
        if key in created:
            plans[out.portal_id] = Planned(out.portal_id, "link", noun, message=f"{key}: created for {created[key]}")
            continue
        write = writes[key]
        plans[out.portal_id] = Planned(out.portal_id, write.action, noun, write.crm_id, write.changes(), message=key)
        if write.action == "create":
            created[key] = out.portal_id
        writes[key] = decide.Write("link", write.crm_id)
    return plans


def _deal_plans(api, mappings, outs: list[Outgoing], memory: Memory) -> list[Planned]:
    writes = [decide.deal_write(mappings, o) for o in outs]
    linked = {w.crm_id: w for w in writes if w.action == "update"}
    held = _read_deals(api, list(linked), None, {n for w in linked.values() for n in w.props})
    fresh = {o.portal_id: w for o, w in zip(outs, writes) if w.action == "create"}
    if fresh and _has_deal_id_property(api, memory):
        made = _read_deals(api, list(fresh), hubspot.DEAL_ID_PROPERTY, {n for w in fresh.values() for n in w.props})
    else:
        made = {}
    plans = []
    for out, write in zip(outs, writes):
        if write.action == "skip":
            plans.append(Planned(out.portal_id, "skip", "Deal", write.crm_id, message="nothing changed"))
        elif write.action == "update" and write.crm_id not in held:
            # The upsert by portal id finds no deal (deleted in HubSpot): it makes a new one.
            plans.append(Planned(out.portal_id, "create", "Deal", None, _all_new(mapping.push_properties(
                mappings, decide.DEAL_OBJECT, out.values)), message=f"deal {write.crm_id} is gone from HubSpot"))
        elif write.action == "update":
            current = held[write.crm_id]
            plans.append(Planned(out.portal_id, "update", "Deal", write.crm_id,
                                 [FieldChange(k, current.get(k) or None, v) for k, v in sorted(write.props.items())]))
        elif out.portal_id in made:
            record = made[out.portal_id]
            plans.append(Planned(out.portal_id, "update", "Deal", record["_id"],
                                 [FieldChange(k, record.get(k) or None, v) for k, v in sorted(write.props.items())
                                  if record.get(k) != v], message="already in HubSpot with this portal id"))
        else:
            plans.append(Planned(out.portal_id, "create", "Deal", None, _all_new(write.props)))
    return plans


def _read_deals(api, ids: list[str], id_property: str | None, names: set[str]) -> dict[str, dict]:
    """Deal properties by the id asked with (HubSpot's or our portal id), `_id` the deal's own id."""
    found = {}
    for start in range(0, len(ids), hubspot.BATCH_SIZE):
        chunk = ids[start:start + hubspot.BATCH_SIZE]
        wanted = sorted(names | ({id_property} if id_property else set()))
        for record in api.batch_read("deals", chunk, id_property=id_property, properties=wanted):
            props = dict(record.get("properties") or {})
            key = str(props.get(id_property)) if id_property else str(record["id"])
            found[key] = {**props, "_id": str(record["id"])}
    return found


def _has_deal_id_property(api, memory: Memory) -> bool:
    """A connection that never pushed may lack our unique property: then no deal carries it."""
    if memory.has_deal_id_property is None:
        memory.has_deal_id_property = api.has_property("deals", hubspot.DEAL_ID_PROPERTY)
    return memory.has_deal_id_property


def _all_new(props: dict) -> list[FieldChange]:
    return [FieldChange(k, None, v) for k, v in sorted(props.items())]
