"""Changes from Salesforce: SOQL on `SystemModstamp` since the watermark (a second back: the stamp
has second precision), oldest first, for the portal's Leads and for the Opportunities that carry a
portal id (lead conversion moves `Portal_Referral_Id__c` to the new Opportunity). A converted Lead
is followed through `ConvertedOpportunityId`: its Opportunity's change names the Lead it replaces,
so the link moves to the Opportunity."""
from __future__ import annotations

from typing import Iterator

from portal.sync.connectors.base import Change
from portal.sync.connectors.salesforce import client as sf

OVERLAP_MS = 1_000
OPPORTUNITY_ALWAYS = ("Id", "Name", "StageName", "Amount", "IsClosed", "IsWon", "SystemModstamp", sf.REFERRAL_ID_FIELD)
LEAD_ALWAYS = ("Id", "Status", "IsConverted", "SystemModstamp", sf.REFERRAL_ID_FIELD)


def changes(api: sf.Salesforce, watermark_ms: int, properties: list[str], fields_of) -> Iterator[Change]:
    """Opportunity changes first (a conversion's), then Lead changes. `fields_of(sobject)` names the
    fields the object has, so a mapping of a Lead-only field never breaks the Opportunity query."""
    since = sf.soql_datetime(max(0, watermark_ms - OVERLAP_MS))
    converted = {r["ConvertedOpportunityId"]: r["Id"] for r in api.query(
        f"SELECT Id, ConvertedOpportunityId FROM Lead WHERE IsConverted = true AND SystemModstamp >= {since} "
        "AND ConvertedOpportunityId != null")}
    yield from _changes_of(api, "Opportunity", OPPORTUNITY_ALWAYS, properties, fields_of, since, converted)
    # A converted Lead is read-only and its Opportunity speaks for the referral now.
    yield from _changes_of(api, "Lead", LEAD_ALWAYS, properties, fields_of, since, {}, "AND IsConverted = false ")


def _changes_of(api, sobject: str, always, properties, fields_of, since: str, replaces: dict,
                where: str = "") -> Iterator[Change]:
    known = fields_of(sobject)
    names = sorted(set(always) | {p for p in properties if p in known})
    soql = (f"SELECT {', '.join(names)} FROM {sobject} WHERE SystemModstamp >= {since} "
            f"AND {sf.REFERRAL_ID_FIELD} != null {where}ORDER BY SystemModstamp ASC")
    for record in api.query(soql):
        props = {k: text(v) for k, v in record.items() if k not in ("attributes", "Id", "SystemModstamp")}
        if record["Id"] in replaces:
            # The Lead's own field, as the Opportunity that replaces it reports it: a qualification
            # rule "IsConverted changes to true" is Referral Factory's "the Lead converts".
            props["IsConverted"] = "true"
        yield Change(record["Id"], record.get(sf.REFERRAL_ID_FIELD), sf.to_ms(record.get("SystemModstamp")),
                     props, replaces=replaces.get(record["Id"]))


def text(value):
    """Property values are strings to the engine (as HubSpot's are)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
