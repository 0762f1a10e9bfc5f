"""Deal registrations in Salesforce (#13): pushed as Leads upserted on `Portal_Deal_Id__c`, or, with
the connection's "Opportunity on contact match" on, as an Opportunity on the Account of the one
Contact holding the end customer's email, with that Contact's role, in one Composite call. The pull
reads them back (a converted Lead is followed to its Opportunity, whose close is the registration's
won or lost), and internal users search Opportunities to import them as registrations.

Every SOQL value goes in as a literal built here: strings quoted and escaped (`client.quote`, LIKE
wildcards too), stages and owners only from the org's own lists, dates from `date` objects.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Iterator

from portal.sync import mapping
from portal.sync.connectors.base import Batch, Change, Found, PushResult
from portal.sync.connectors.salesforce import client as sf
from portal.sync.connectors.salesforce import pull
from portal.sync.connectors.salesforce import push as referral_push

DEAL_ID_FIELD = "Portal_Deal_Id__c"
LEAD_SOURCE = "Partner Referral"
OPPORTUNITY_STAGE = "Prospecting"   # a new Opportunity's stage; the org's own stages take over from there
CLOSE_IN_DAYS = 90                  # a registration without an expected close date
COMPOSITE_ITEMS = 12                # 2 subrequests each, Composite takes 25
SEARCH_LIMIT = 50
OVERLAP_MS = 1_000
OPPORTUNITY_FIELDS = ("Id", "Name", "StageName", "Amount", "CloseDate", "IsClosed", "IsWon", "SystemModstamp",
                      DEAL_ID_FIELD)
LEAD_FIELDS = ("Id", "Status", "IsConverted", "SystemModstamp", DEAL_ID_FIELD)


@dataclass
class _Item:
    out: object
    result: PushResult | None = None

    @property
    def link(self):
        return self.out.link


# ---- push ------------------------------------------------------------------------------------

def push(api: sf.Salesforce, *, contact_match: bool, batch: Batch) -> list[PushResult]:
    items = [_Item(o) for o in batch.items]
    instance_url = api.instance_url
    new, leads, opportunities = sort_items(items)
    on_contacts = contacts_of(api, [i.out for i in new]) if contact_match else {}
    _create_leads(api, instance_url, [i for i in new if i.out.contact_email not in on_contacts])
    _create_opportunities(api, instance_url, [(i, on_contacts[i.out.contact_email]) for i in new
                                              if i.out.contact_email in on_contacts])
    _update_leads(api, instance_url, leads)
    _stamp_opportunities(api, instance_url, opportunities)
    return [i.result or PushResult(i.link.id, "skipped") for i in items]


def sort_items(items: list) -> tuple[list, list, list]:
    """(new, linked Leads, linked Opportunities): what the push (and the dry run) does with each."""
    new, leads, opportunities = [], [], []
    for item in items:
        crm_id = item.link.crm_id
        (opportunities if referral_push.is_opportunity(crm_id) else leads if crm_id else new).append(item)
    return new, leads, opportunities


def lead_changes(out) -> dict:
    """A linked Lead's fields that changed since the last push."""
    last = out.link.pushed_values or {}
    return {k: v for k, v in lead_properties(out.values).items() if last.get(k) != v}


def needs_stamp(out) -> bool:
    """An Opportunity gets the registration's id once."""
    return (out.link.pushed_values or {}).get(DEAL_ID_FIELD) != out.portal_id


def lead_properties(values: dict) -> dict:
    """A registration as a Lead (lengths as the Lead's fields take them)."""
    props = {"LastName": _cut(values.get("contact_last_name") or values.get("contact_name") or "(unknown)", 80),
             "FirstName": _cut(values.get("contact_first_name"), 40),
             "Company": _cut(values.get("customer_company") or "(unknown)", 255),
             "Email": values.get("contact_email"), "Phone": _cut(values.get("contact_phone"), 40),
             "Title": _cut(values.get("contact_title"), 128), "Website": values.get("customer_domain"),
             "Country": values.get("customer_country"), "Description": _description(values),
             "LeadSource": LEAD_SOURCE}
    return {k: v for k, v in props.items() if v not in (None, "")}


def opportunity_properties(values: dict, account_id: str) -> dict:
    close = values.get("expected_close") or (date.today() + timedelta(days=CLOSE_IN_DAYS))
    props = {"Name": _cut(values.get("deal_name") or values.get("customer_company") or "(unnamed)", 120),
             "StageName": OPPORTUNITY_STAGE, "CloseDate": mapping.to_crm(close), "AccountId": account_id,
             "Amount": float(values["amount"]) if values.get("amount") is not None else None,
             "Description": _description(values), "LeadSource": LEAD_SOURCE, sf.SYNC_FIELD: True}
    return {k: v for k, v in props.items() if v not in (None, "")}


def _description(values: dict) -> str:
    parts = [f"Deal registration {values.get('number')} by {values.get('partner_name') or 'a partner'}."]
    if values.get("products"):
        parts.append(f"Products: {values['products']}")
    if values.get("amount") is not None:
        parts.append(f"Amount: {mapping.to_crm(values['amount'])} {values.get('currency') or ''}".rstrip())
    if values.get("expected_close"):
        parts.append(f"Expected close: {mapping.to_crm(values['expected_close'])}")
    if values.get("referral_number"):
        parts.append(f"From referral {values['referral_number']}.")
    return "\n".join(parts)


def _cut(value, length: int):
    return str(value)[:length] if value not in (None, "") else None


def contacts_of(api, outs: list) -> dict[str, dict]:
    """Email -> the one Contact (with an Account) that holds it; emails held by none or several are left out."""
    emails = sorted({o.contact_email for o in outs if o.contact_email})
    found: dict[str, list[dict]] = {}
    for start in range(0, len(emails), sf.IN_VALUES):
        chunk = ", ".join(sf.quote(e) for e in emails[start:start + sf.IN_VALUES])
        for record in api.query(f"SELECT Id, Email, AccountId FROM Contact WHERE Email IN ({chunk})"):
            found.setdefault((record.get("Email") or "").lower(), []).append(record)
    return {email: matches[0] for email, matches in found.items() if len(matches) == 1 and matches[0].get("AccountId")}


def _create_leads(api, instance_url: str, items: list[_Item]) -> None:
    for start in range(0, len(items), sf.COLLECTION_SIZE):
        chunk = items[start:start + sf.COLLECTION_SIZE]
        props = [lead_properties(i.out.values) for i in chunk]
        records = [{**p, DEAL_ID_FIELD: i.out.portal_id, sf.SYNC_FIELD: True} for i, p in zip(chunk, props)]
        for item, sent, result in zip(chunk, props, api.upsert("Lead", DEAL_ID_FIELD, records)):
            if result.get("success"):
                created = bool(result.get("created", True))
                _link(item, instance_url, result["id"], "create lead" if created else "update lead",
                      f"Lead {result['id']}", sent, created=created)
            else:
                item.result = _error(item, "upsert lead", result.get("errors") or [], sent)


def _create_opportunities(api, instance_url: str, pairs: list[tuple[_Item, dict]]) -> None:
    """An Opportunity upserted on the portal id and the Contact's role on it, in one Composite call
    per 12 registrations; a role that exists already (a retried push) is not made twice."""
    if not pairs:
        return
    roles = _existing_roles(api, [item.out.portal_id for item, _ in pairs])
    for start in range(0, len(pairs), COMPOSITE_ITEMS):
        chunk = pairs[start:start + COMPOSITE_ITEMS]
        requests, sent = [], []
        for n, (item, contact) in enumerate(chunk):
            props = opportunity_properties(item.out.values, contact["AccountId"])
            sent.append(props)
            url = api.data_path(f"/sobjects/Opportunity/{DEAL_ID_FIELD}/{item.out.portal_id}")
            requests.append({"method": "PATCH", "url": url, "referenceId": f"deal{n}", "body": props})
            if contact["Id"] not in roles.get(item.out.portal_id, ()):
                requests.append({"method": "POST", "url": api.data_path("/sobjects/OpportunityContactRole"),
                                 "referenceId": f"role{n}", "body": {"OpportunityId": f"@{{deal{n}.id}}", "ContactId": contact["Id"],
                                          "IsPrimary": True}})
        answers = api.composite(requests)
        for n, ((item, contact), props) in enumerate(zip(chunk, sent)):
            deal, role = answers.get(f"deal{n}", (500, None)), answers.get(f"role{n}")
            failed = [a for a in (deal, role) if a is not None and a[0] >= 300]
            if failed:
                errors = [e for status, body in failed for e in (body if isinstance(body, list) else [])]
                item.result = _error(item, "create opportunity", errors, props)
                continue
            body = deal[1] or {}
            created = bool(body.get("created", True))
            _link(item, instance_url, body["id"], "create opportunity" if created else "update opportunity",
                  f"Opportunity {body['id']} on Account {contact['AccountId']}, contact role for Contact "
                  f"{contact['Id']} ({item.out.contact_email})", {**props, DEAL_ID_FIELD: item.out.portal_id},
                  created=created)


def _existing_roles(api, portal_ids: list[str]) -> dict[str, set[str]]:
    """Portal id -> the Contacts that already have a role on its Opportunity."""
    found: dict[str, set[str]] = {}
    for start in range(0, len(portal_ids), sf.IN_VALUES):
        chunk = ", ".join(sf.quote(p) for p in portal_ids[start:start + sf.IN_VALUES])
        for record in api.query(f"SELECT Id, {DEAL_ID_FIELD}, (SELECT ContactId FROM OpportunityContactRoles) "
                                f"FROM Opportunity WHERE {DEAL_ID_FIELD} IN ({chunk})"):
            roles = (record.get("OpportunityContactRoles") or {}).get("records") or []
            found[record[DEAL_ID_FIELD]] = {r["ContactId"] for r in roles}
    return found


def _update_leads(api, instance_url: str, items: list[_Item]) -> None:
    changed = [(item, props) for item in items if (props := lead_changes(item.out))]
    for start in range(0, len(changed), sf.COLLECTION_SIZE):
        chunk = changed[start:start + sf.COLLECTION_SIZE]
        results = api.update("Lead", [{"Id": item.link.crm_id, **props} for item, props in chunk])
        for (item, props), result in zip(chunk, results):
            if result.get("success"):
                _link(item, instance_url, item.link.crm_id, "update lead", f"Lead {item.link.crm_id}", props)
            else:
                item.result = _error(item, "update lead", result.get("errors") or [], props)


def _stamp_opportunities(api, instance_url: str, items: list[_Item]) -> None:
    """An Opportunity is Salesforce's once it exists (its stage, its amount): the portal only writes its
    id on it once (an imported one, a converted Lead's), so the pull finds it."""
    todo = [i for i in items if needs_stamp(i.out)]
    for start in range(0, len(todo), sf.COLLECTION_SIZE):
        chunk = todo[start:start + sf.COLLECTION_SIZE]
        stamp = [{DEAL_ID_FIELD: i.out.portal_id, sf.SYNC_FIELD: True} for i in chunk]
        results = api.update("Opportunity", [{"Id": i.link.crm_id, **s} for i, s in zip(chunk, stamp)])
        for item, sent, result in zip(chunk, stamp, results):
            if result.get("success"):
                _link(item, instance_url, item.link.crm_id, "link opportunity",
                      f"Opportunity {item.link.crm_id} carries the registration's id", sent)
            else:
                item.result = _error(item, "link opportunity", result.get("errors") or [], sent)


def _link(item: _Item, instance_url: str, crm_id: str, action: str, message: str, sent: dict, *,
          created: bool = False) -> None:
    link = item.link
    link.crm_id = crm_id
    link.url = referral_push.record_url(instance_url, crm_id)
    link.pushed_values = {**(link.pushed_values or {}), **sent}
    item.result = PushResult(link.id, "ok", action, created=created, message=message,
                             request_summary=referral_push.request_summary(sent))


def _error(item: _Item, action: str, errors: list, sent: dict) -> PushResult:
    text = "; ".join(f"{e.get('statusCode') or e.get('errorCode', '')}: {e.get('message', '')}"
                     for e in errors if isinstance(e, dict)) or "no answer"
    return PushResult(item.link.id, "error", action, message=f"Salesforce rejected the registration: {text}"[:2000],
                      request_summary=referral_push.request_summary(sent))


# ---- pull ------------------------------------------------------------------------------------

def changes(api: sf.Salesforce, watermark_ms: int) -> Iterator[Change]:
    """The registrations' Opportunities (a converted Lead's names the Lead it replaces), then their
    open Leads, changed since the watermark, oldest first, then the deleted ones (getDeleted): all in
    one Composite call. A closed Opportunity is the registration's outcome: won (with its Amount) or
    lost; a deleted Lead or Opportunity unlinks the registration."""
    start_ms = max(0, watermark_ms - OVERLAP_MS)
    since = sf.soql_datetime(start_ms)
    found = api.queries({
        "converted": f"SELECT Id, ConvertedOpportunityId FROM Lead WHERE IsConverted = true AND SystemModstamp >= "
                     f"{since} AND ConvertedOpportunityId != null AND {DEAL_ID_FIELD} != null",
        "opportunities": f"SELECT {', '.join(OPPORTUNITY_FIELDS)} FROM Opportunity WHERE SystemModstamp >= {since} "
                         f"AND {DEAL_ID_FIELD} != null ORDER BY SystemModstamp ASC",
        "leads": f"SELECT {', '.join(LEAD_FIELDS)} FROM Lead WHERE SystemModstamp >= {since} "
                 f"AND {DEAL_ID_FIELD} != null AND IsConverted = false ORDER BY SystemModstamp ASC",
    }, extra=pull.deleted_requests(api, start_ms))
    converted = {r["ConvertedOpportunityId"]: r["Id"] for r in found["converted"]}
    for record in found["opportunities"]:
        status, reason = None, None
        if record.get("IsWon"):
            status, reason = "won", f"Salesforce opportunity {record.get('Name')!r} closed won"
        elif record.get("IsClosed"):
            status, reason = "lost", f"Salesforce opportunity {record.get('Name')!r} closed: {record.get('StageName')}"
        yield _change(record, converted.get(record["Id"]), status, reason)
    for record in found["leads"]:
        yield _change(record, None, None, None)
    yield from pull.deletions(found)


def _change(record: dict, replaces: str | None, status: str | None, reason: str | None) -> Change:
    props = {k: pull.text(v) for k, v in record.items() if k not in ("attributes", "Id", "SystemModstamp")}
    return Change(record["Id"], record.get(DEAL_ID_FIELD), sf.to_ms(record.get("SystemModstamp")), props,
                  replaces=replaces, status=status, reason=reason)


# ---- import: search Opportunities ------------------------------------------------------------

def search_options(api: sf.Salesforce) -> dict[str, list[tuple[str, str]]]:
    """The org's Opportunity stages and active users: the only values the search accepts for them."""
    stages = [(r["ApiName"], r["MasterLabel"]) for r in api.query(
        "SELECT ApiName, MasterLabel, SortOrder FROM OpportunityStage WHERE IsActive = true ORDER BY SortOrder ASC")]
    owners = [(r["Id"], r["Name"]) for r in api.query("SELECT Id, Name FROM User WHERE IsActive = true ORDER BY Name ASC")]
    return {"stages": stages, "owners": owners}


SEARCH_FIELDS = ("Id", "Name", "StageName", "Amount", "CloseDate", "Owner.Name", "Account.Name", "Account.Website",
                 DEAL_ID_FIELD)
ROLE_QUERY = ("(SELECT IsPrimary, Contact.FirstName, Contact.LastName, Contact.Email, Contact.Phone, Contact.Title "
              "FROM OpportunityContactRoles ORDER BY IsPrimary DESC)")


def search(api: sf.Salesforce, *, name: str = "", stage: str = "", owner: str = "", close_from: date | None = None,
           close_to: date | None = None, options: dict | None = None) -> list[Found]:
    """Opportunities by name (contains), stage, owner and close date range, soonest close first.
    A stage or owner that is not the org's own is refused (ValueError), never put in the query."""
    options = options or search_options(api)
    where = []
    if (name or "").strip():
        where.append(f"Name LIKE {sf.like(name.strip())}")
    if stage:
        if stage not in {s for s, _ in options["stages"]}:
            raise ValueError("stage")
        where.append(f"StageName = {sf.quote(stage)}")
    if owner:
        if owner not in {o for o, _ in options["owners"]}:
            raise ValueError("owner")
        where.append(f"OwnerId = {sf.quote(owner)}")
    if close_from is not None:
        where.append(f"CloseDate >= {date.isoformat(close_from)}")
    if close_to is not None:
        where.append(f"CloseDate <= {date.isoformat(close_to)}")
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    return _found(api, f"SELECT {', '.join(SEARCH_FIELDS)}, {ROLE_QUERY} FROM Opportunity{condition} "
                       f"ORDER BY CloseDate ASC LIMIT {SEARCH_LIMIT}")


def read(api: sf.Salesforce, crm_ids: list[str]) -> list[Found]:
    """The Opportunities with these ids (as the search lists them), for the import."""
    ids = [i for i in crm_ids if referral_push.is_opportunity(i) and i.isalnum()]
    if not ids:
        return []
    chunk = ", ".join(sf.quote(i) for i in ids[:sf.IN_VALUES])
    return _found(api, f"SELECT {', '.join(SEARCH_FIELDS)}, {ROLE_QUERY} FROM Opportunity WHERE Id IN ({chunk})")


def _found(api, soql: str) -> list[Found]:
    instance_url = api.instance_url
    found = []
    for r in api.query(soql):
        account = r.get("Account") or {}
        roles = (r.get("OpportunityContactRoles") or {}).get("records") or []
        contact = (roles[0].get("Contact") or {}) if roles else {}
        amount = Decimal(str(r["Amount"])).quantize(Decimal("0.01")) if r.get("Amount") is not None else None
        name = " ".join(p for p in (contact.get("FirstName"), contact.get("LastName")) if p)
        values = {"customer_company": account.get("Name") or r.get("Name"), "customer_domain": account.get("Website"),
                  "contact_name": name, "contact_email": contact.get("Email"), "contact_phone": contact.get("Phone"),
                  "contact_title": contact.get("Title"), "amount": amount,
                  "expected_close": date.fromisoformat(r["CloseDate"]) if r.get("CloseDate") else None,
                  "products": r.get("Name")}
        found.append(Found(r["Id"], r.get("Name") or r["Id"], r.get("StageName"), (r.get("Owner") or {}).get("Name"),
                           r.get("CloseDate"), amount, account.get("Name"), r.get(DEAL_ID_FIELD), values,
                           referral_push.record_url(instance_url, r["Id"])))
    return found
