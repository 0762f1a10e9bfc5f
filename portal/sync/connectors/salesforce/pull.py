"""Changes from Salesforce since the watermark, in one Composite call (a Composite call counts as one
API call, FACTS §2.5): SOQL on `SystemModstamp` (a second back: the stamp has second precision),
oldest first, and `getDeleted` for what was deleted (FACTS §2.11).

- the portal's records: Leads, Contacts (Referral Factory's "create a new Contact" option) and the
  Opportunities that carry a portal id (lead conversion moves `Portal_Referral_Id__c` to the new
  Opportunity, or to the Contact when it made none);
- a converted Lead is followed through `ConvertedOpportunityId` (or `ConvertedContactId`): its
  Opportunity's change names the Lead it replaces, and the Account and Contact of the conversion,
  so the link moves to the Opportunity and keeps them;
- when a rule watches the record's contact ("contact.<field>"), the Contacts the portal syncs
  (`Sync_with_Portal__c`, set on a matched Contact and carried over by the conversion's field
  mapping) that are not a record of their own come as related changes;
- deleted Leads, Contacts and Opportunities come as deletions (the engine unlinks them).
"""
from __future__ import annotations

from typing import Iterator

from portal import clock
from portal.sync.connectors.base import Change
from portal.sync.connectors.salesforce import client as sf
from portal.sync.qualification import CONTACT_PREFIX

OVERLAP_MS = 1_000
REPLICATION_MS = 29 * 86_400_000   # getDeleted looks back 30 days at most (INVALID_REPLICATION_DATE)
OPPORTUNITY_ALWAYS = ("Id", "Name", "StageName", "Amount", "IsClosed", "IsWon", "SystemModstamp", sf.REFERRAL_ID_FIELD)
LEAD_ALWAYS = ("Id", "Status", "IsConverted", "SystemModstamp", sf.REFERRAL_ID_FIELD)
CONTACT_ALWAYS = ("Id", "AccountId", "SystemModstamp", sf.REFERRAL_ID_FIELD)
DELETABLE = ("Lead", "Contact", "Opportunity")


def changes(api: sf.Salesforce, watermark_ms: int, properties: list[str], fields_of) -> Iterator[Change]:
    """Opportunity changes first (a conversion's), then Contacts, Leads, related Contacts and
    deletions. `fields_of(sobject)` names the fields the object has, so a mapping of a Lead-only
    field never breaks the Opportunity query."""
    start_ms = max(0, watermark_ms - OVERLAP_MS)
    since = sf.soql_datetime(start_ms)
    own = [p for p in properties if not p.startswith(CONTACT_PREFIX)]
    of_contact = sorted({p[len(CONTACT_PREFIX):] for p in properties if p.startswith(CONTACT_PREFIX)}
                        & (fields_of("Contact") if len(properties) > len(own) else set()))
    soql = {
        "converted": "SELECT Id, ConvertedOpportunityId, ConvertedContactId, ConvertedAccountId FROM Lead "
                     f"WHERE IsConverted = true AND SystemModstamp >= {since} AND {sf.REFERRAL_ID_FIELD} != null",
        "opportunities": _own_query("Opportunity", OPPORTUNITY_ALWAYS, own, fields_of, since),
        "contacts": _own_query("Contact", CONTACT_ALWAYS, own + of_contact, fields_of, since),
        "leads": _own_query("Lead", LEAD_ALWAYS, own, fields_of, since, "AND IsConverted = false "),
    }
    if of_contact:
        soql["related"] = (f"SELECT {', '.join(sorted({'Id', 'SystemModstamp', *of_contact}))} FROM Contact "
                           f"WHERE SystemModstamp >= {since} AND {sf.SYNC_FIELD} = true "
                           f"AND {sf.REFERRAL_ID_FIELD} = null ORDER BY SystemModstamp ASC")
    found = api.queries(soql, extra=deleted_requests(api, start_ms))
    by_opportunity = {r["ConvertedOpportunityId"]: r for r in found["converted"] if r.get("ConvertedOpportunityId")}
    by_contact = {r["ConvertedContactId"]: r for r in found["converted"]
                  if r.get("ConvertedContactId") and not r.get("ConvertedOpportunityId")}
    yield from _own_changes(found["opportunities"], by_opportunity)
    yield from _own_changes(found["contacts"], by_contact, of_contact)
    # A converted Lead is read-only and its Opportunity (or Contact) speaks for the referral now.
    yield from _own_changes(found["leads"], {})
    for record in found.get("related", []):
        yield Change(record["Id"], None, sf.to_ms(record.get("SystemModstamp")),
                     {CONTACT_PREFIX + name: text(record.get(name)) for name in of_contact}, related="contact")
    yield from deletions(found)


def _own_query(sobject: str, always, properties, fields_of, since: str, where: str = "") -> str:
    wanted = set(properties) - set(always)
    known = fields_of(sobject) if wanted else set()
    names = sorted(set(always) | {p for p in wanted if p in known})
    return (f"SELECT {', '.join(names)} FROM {sobject} WHERE SystemModstamp >= {since} "
            f"AND {sf.REFERRAL_ID_FIELD} != null {where}ORDER BY SystemModstamp ASC")


def deleted_requests(api: sf.Salesforce, start_ms: int, sobjects: tuple[str, ...] = DELETABLE) -> dict[str, str]:
    """getDeleted per object, from the watermark (at most 30 days back) to now: the `extra` of a
    Composite `queries` call, whose answers `deletions` reads."""
    now_ms = int(clock.timestamp() * 1000)
    start_ms = max(start_ms, now_ms - REPLICATION_MS)
    end_ms = max(now_ms, start_ms + 60_000)   # start must precede end; Salesforce stops at its own now
    window = f"?start={sf.quote_url(sf.soql_datetime(start_ms))}&end={sf.quote_url(sf.soql_datetime(end_ms))}"
    return {sobject: api.data_path(f"/sobjects/{sobject}/deleted/{window}") for sobject in sobjects}


def deletions(found: sf.Answers, sobjects: tuple[str, ...] = DELETABLE) -> Iterator[Change]:
    """The records getDeleted listed (`deleted_requests`), as deletions: the engine unlinks what it had linked."""
    for sobject in sobjects:
        for gone in (found.extra.get(sobject) or {}).get("deletedRecords", []):
            yield Change(gone["id"], None, sf.to_ms(gone.get("deletedDate")), {}, deleted=True)


def _own_changes(records: list[dict], replaced: dict[str, dict], of_contact: list[str] = ()) -> Iterator[Change]:
    for record in records:
        props = {k: text(v) for k, v in record.items() if k not in ("attributes", "Id", "SystemModstamp")}
        # Referral Factory's option 2 on a record that is a Contact itself: its own fields are its contact's.
        props.update({CONTACT_PREFIX + name: props.get(name) for name in of_contact})
        lead = replaced.get(record["Id"])
        if lead is not None:
            # The Lead's own field, as the record that replaces it reports it: a qualification
            # rule "IsConverted changes to true" is Referral Factory's "the Lead converts".
            props["IsConverted"] = "true"
        yield Change(record["Id"], record.get(sf.REFERRAL_ID_FIELD), sf.to_ms(record.get("SystemModstamp")), props,
                     replaces=lead["Id"] if lead else None,
                     contact_crm_id=lead.get("ConvertedContactId") if lead else None,
                     company_crm_id=lead.get("ConvertedAccountId") if lead else None)


def text(value):
    """Property values are strings to the engine (as HubSpot's are)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
