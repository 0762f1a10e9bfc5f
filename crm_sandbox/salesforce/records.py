"""Leads, contacts, accounts and opportunities: every Salesforce write goes through `save`.

REST calls, collections, upserts, the record pages and lead conversion share it, so required
fields, restricted picklists, unique external ids and `SystemModstamp` behave the same everywhere.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm_sandbox import clock, store
from crm_sandbox.salesforce import fields, ids
from crm_sandbox.salesforce.errors import SalesforceError

_r = store.sf_records
_x = store.sf_external_ids
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class Record:
    id: str
    sobject: str
    fields: dict
    modstamp: int
    is_deleted: bool = False


@dataclass
class Plan:
    """One record to write: the existing record (None to create) and its final field values."""
    index: int
    sobject: str
    record: Record | None
    final: dict = field(default_factory=dict)
    errors: list[SalesforceError] = field(default_factory=list)
    result: Record | None = None


def describe(name: str) -> fields.SObject:
    sobject = fields.sobject(name)
    if sobject is None:
        raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
    return sobject


def _row(row) -> Record:
    return Record(row.id, row.sobject, json.loads(row.fields), row.modstamp, row.is_deleted)


def fetch(session: Session, record_ids, *, sobject: str | None = None,
          include_deleted: bool = False) -> dict[str, Record]:
    keys = [ids.to_18(i) for i in record_ids if ids.looks_like_id(i)]
    if not keys:
        return {}
    statement = sa.select(_r).where(_r.c.id.in_(keys))
    if sobject:
        statement = statement.where(_r.c.sobject == sobject)
    if not include_deleted:
        statement = statement.where(_r.c.is_deleted.is_(False))
    return {row.id: _row(row) for row in session.execute(statement)}


def get(session: Session, sobject: str, record_id: str) -> Record:
    """One live record. Raises 404 NOT_FOUND, or ENTITY_IS_DELETED for a deleted one."""
    found = fetch(session, [record_id], sobject=sobject, include_deleted=True)
    record = found.get(ids.to_18(record_id)) if ids.looks_like_id(record_id) else None
    if record is None:
        raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
    if record.is_deleted:
        raise SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted")
    return record


def by_external_id(session: Session, sobject: str, field_name: str, values: list[str]) -> dict[str, str]:
    """{value (as given): record id} for an external-id field; values match case-insensitively."""
    lowered = {str(v).lower(): str(v) for v in values}
    rows = session.execute(sa.select(_x.c.value, _x.c.record_id).where(
        _x.c.sobject == sobject, _x.c.field == field_name, _x.c.value.in_(list(lowered))))
    return {lowered[row.value]: row.record_id for row in rows}


def external_id_field(sobject: fields.SObject, name: str) -> fields.Field:
    found = sobject.field(name)
    if found is None or not (found.external_id or found.name == "Id"):
        raise SalesforceError(404, "NOT_FOUND",
                              f"Provided external ID field does not exist or is not accessible: {name}")
    return found


# --- planning ----------------------------------------------------------------------------------

def plan(sobject: fields.SObject, index: int, values: dict,
         record: Record | None, *, system: bool = False) -> Plan:
    """Validate values for a create (record None) or an update, and compute the final fields."""
    result = Plan(index, sobject.name, record)
    final = dict(record.fields) if record else {}
    if not isinstance(values, dict):
        result.errors.append(SalesforceError(400, "JSON_PARSER_ERROR", "Expected a JSON object"))
        return result
    bad_access = []
    for name, raw in values.items():
        if name == "attributes" or (name == "Id" and record is not None):
            continue
        definition = sobject.field(name)
        if definition is None:
            result.errors.append(SalesforceError(
                400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject.name}"))
            continue
        allowed = definition.createable if record is None else definition.updateable
        if not allowed and not system:
            bad_access.append(definition.name)
            continue
        value, error = _coerce(sobject, definition, raw)
        if error:
            result.errors.append(error)
        else:
            final[definition.name] = value
    if bad_access:
        result.errors.append(SalesforceError(
            400, "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(bad_access)}. Please check the security "
            "settings of this field and verify that it is read/write for your profile or permission set.",
            bad_access))
    if record is None:
        _defaults(sobject, final)
    _derive(sobject, final, values, record)
    missing = [f.name for f in sobject.fields.values()
               if not f.nillable and f.createable and final.get(f.name) in (None, "")]
    if missing:
        result.errors.append(SalesforceError(
            400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing))
    result.final = final
    return result


def _coerce(sobject, definition: fields.Field, raw):
    name, kind = definition.name, definition.type
    if raw is None or raw == "":
        return None, None
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw, None
        if str(raw).lower() in ("true", "false"):
            return str(raw).lower() == "true", None
        return None, SalesforceError(400, "JSON_PARSER_ERROR",
                                     f"Cannot deserialize instance of boolean from {raw!r} for {name}", [name])
    if kind in ("int", "double", "currency", "percent"):
        try:
            number = float(raw)
        except (TypeError, ValueError):
            return None, SalesforceError(400, "JSON_PARSER_ERROR",
                                         f"Cannot deserialize instance of {kind} from {raw!r} for {name}", [name])
        return (int(number) if kind == "int" else number), None
    if not isinstance(raw, (str, int, float)):
        return None, SalesforceError(400, "JSON_PARSER_ERROR", f"Expected a value for {name}", [name])
    text = str(raw)
    if kind == "date":
        if not _DATE.match(text[:10]) or clock.parse_datetime_ms(text[:10]) is None:
            return None, SalesforceError(400, "JSON_PARSER_ERROR",
                                         f"Cannot deserialize instance of date from VALUE_STRING value {text}", [name])
        return text[:10], None
    if kind == "datetime":
        ms = clock.parse_datetime_ms(text)
        if ms is None:
            return None, SalesforceError(400, "JSON_PARSER_ERROR",
                                         f"Cannot deserialize instance of datetime from VALUE_STRING value {text}", [name])
        return clock.salesforce_datetime(ms), None
    if kind == "reference":
        if not ids.looks_like_id(text):
            return None, SalesforceError(400, "MALFORMED_ID", f"{definition.label}: id value of incorrect "
                                         f"type: {text}", [name])
        return ids.to_18(text), None
    if kind == "picklist" and definition.restricted and text not in {v for v, _ in definition.picklist}:
        return None, SalesforceError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                     f"{definition.label}: bad value for restricted picklist field: {text}", [name])
    if kind == "email" and not _EMAIL.match(text):
        return None, SalesforceError(400, "INVALID_EMAIL_ADDRESS", f"{definition.label}: invalid email address: {text}", [name])
    if definition.length and len(text) > definition.length:
        return None, SalesforceError(400, "STRING_TOO_LONG",
                                     f"{definition.label}: data value too large: {text[:40]}... (max length={definition.length})", [name])
    return text, None


def _defaults(sobject: fields.SObject, final: dict) -> None:
    for definition in sobject.fields.values():
        if definition.default_value is not None and final.get(definition.name) is None:
            value = definition.default_value
            final[definition.name] = (value == "true") if definition.type == "boolean" else value
    final.setdefault("OwnerId", ids.USER_ID)
    default_type = next((t for t in sobject.record_types if t.default), None)
    if "RecordTypeId" in sobject.fields and default_type and not final.get("RecordTypeId"):
        final["RecordTypeId"] = default_type.id


def _derive(sobject: fields.SObject, final: dict, values: dict, record: Record | None) -> None:
    """An opportunity's stage decides IsClosed, IsWon, the forecast category and, unless the
    caller sets it, the probability."""
    if sobject.name != "Opportunity" or not final.get("StageName"):
        return
    stage = fields.stage(final["StageName"])
    if stage is None:
        return
    _, probability, closed, won, forecast = stage
    final["IsClosed"], final["IsWon"], final["ForecastCategoryName"] = closed, won, forecast
    stage_changed = record is None or record.fields.get("StageName") != final["StageName"]
    if stage_changed and "Probability" not in values:
        final["Probability"] = float(probability)


def check_unique(session: Session, plans: list[Plan]) -> None:
    """DUPLICATE_VALUE for external-id values held by another record or twice in the batch."""
    claims: dict[tuple, Plan] = {}
    for p in plans:
        if p.errors:
            continue
        for name in describe(p.sobject).external_ids:
            value = p.final.get(name)
            if value is None:
                continue
            key = (p.sobject, name, str(value).lower())
            if key in claims:
                p.errors.append(SalesforceError(
                    400, "DUPLICATE_VALUE", f"Duplicate external id specified: {value}", [name]))
            else:
                claims[key] = p
    grouped: dict[tuple, list[str]] = {}
    for sobject, name, value in claims:
        grouped.setdefault((sobject, name), []).append(value)
    for (sobject, name), values in grouped.items():
        rows = session.execute(sa.select(_x.c.value, _x.c.record_id).where(
            _x.c.sobject == sobject, _x.c.field == name, _x.c.value.in_(values)))
        for row in rows:
            p = claims[(sobject, name, row.value)]
            if p.record is None or p.record.id != row.record_id:
                p.errors.append(SalesforceError(
                    400, "DUPLICATE_VALUE", f"duplicate value found: {name} duplicates value on "
                    f"record with id: {row.record_id}", []))


def check_references(session: Session, plans: list[Plan]) -> None:
    wanted = {p.final.get("AccountId") for p in plans if not p.errors and p.final.get("AccountId")}
    present = fetch(session, wanted, sobject="Account") if wanted else {}
    for p in plans:
        account = p.final.get("AccountId")
        if not p.errors and account and account not in present:
            p.errors.append(SalesforceError(
                400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["AccountId"]))


# --- applying ----------------------------------------------------------------------------------

def save(session: Session, plans: list[Plan], *, all_or_none: bool = False) -> list[Plan]:
    """Write every plan without errors (none at all if all_or_none and one failed)."""
    check_unique(session, plans)
    check_references(session, plans)
    if all_or_none and any(p.errors for p in plans):
        rolled_back = SalesforceError(
            400, "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "Record rolled back because not all records were valid and the request was using AllOrNone header")
        for p in plans:
            if not p.errors:
                p.errors.append(rolled_back)
        return plans
    now = clock.now_ms()
    stamp = clock.salesforce_datetime(now)
    creates = [p for p in plans if not p.errors and p.record is None]
    updates = [p for p in plans if not p.errors and p.record is not None]
    for p in creates:
        record_id = ids.new_id(p.sobject)
        p.final.update(Id=record_id, IsDeleted=False, CreatedDate=stamp, CreatedById=ids.USER_ID,
                       LastModifiedDate=stamp, LastModifiedById=ids.USER_ID, SystemModstamp=stamp)
        p.result = Record(record_id, p.sobject, p.final, now)
    for p in updates:
        p.final.update(LastModifiedDate=stamp, LastModifiedById=ids.USER_ID, SystemModstamp=stamp)
        p.result = Record(p.record.id, p.sobject, p.final, now)
    if creates:
        session.execute(sa.insert(_r), [
            {"id": p.result.id, "sobject": p.sobject, "fields": json.dumps(p.final), "modstamp": now,
             "is_deleted": False} for p in creates])
    if updates:
        session.execute(sa.update(_r).where(_r.c.id == sa.bindparam("b_id")).values(
            fields=sa.bindparam("b_fields"), modstamp=sa.bindparam("b_now")),
            [{"b_id": p.record.id, "b_fields": json.dumps(p.final), "b_now": now} for p in updates])
        session.execute(sa.delete(_x).where(_x.c.record_id.in_([p.record.id for p in updates])))
    rows = [{"sobject": p.sobject, "field": name, "value": str(p.final[name]).lower(),
             "record_id": p.result.id}
            for p in creates + updates for name in describe(p.sobject).external_ids
            if p.final.get(name) is not None]
    if rows:
        session.execute(sa.insert(_x), rows)
    return plans


def raise_first(p: Plan) -> Record:
    if p.errors:
        raise p.errors[0]
    return p.result


def create(session: Session, sobject_name: str, values: dict) -> Record:
    """Create one record. Raises SalesforceError (REQUIRED_FIELD_MISSING, DUPLICATE_VALUE, ...)."""
    sobject = describe(sobject_name)
    if "Id" in (values or {}):
        raise SalesforceError(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                              "Unable to create/update fields: Id.", ["Id"])
    return raise_first(save(session, [plan(sobject, 0, values, None)])[0])


def update(session: Session, sobject_name: str, record_id: str, values: dict, *,
           system: bool = False) -> Record:
    """Update one record's fields. Raises SalesforceError."""
    sobject = describe(sobject_name)
    record = get(session, sobject.name, record_id)
    return raise_first(save(session, [plan(sobject, 0, values, record, system=system)])[0])


def upsert_plans(session: Session, sobject: fields.SObject, field_name: str,
                 items: list[tuple[str, dict]], *, update_only: bool = False) -> list[Plan]:
    """Plans for upserting (external id value, values) pairs by an external-id field (or Id)."""
    definition = external_id_field(sobject, field_name)
    if definition.name == "Id":
        found = fetch(session, [v for v, _ in items], sobject=sobject.name)
        matches = {v: ids.to_18(v) for v, _ in items if ids.looks_like_id(v) and ids.to_18(v) in found}
    else:
        matches = by_external_id(session, sobject.name, definition.name, [v for v, _ in items])
        found = fetch(session, matches.values(), sobject=sobject.name)
    plans = []
    for index, (value, values) in enumerate(items):
        values = dict(values or {})
        given = values.pop(definition.name, None)
        if given is not None and str(given).lower() != str(value).lower():
            p = Plan(index, sobject.name, None)
            p.errors.append(SalesforceError(400, "INVALID_FIELD",
                                            f"Do not specify {definition.name} in the request body", [definition.name]))
            plans.append(p)
            continue
        record = found.get(matches.get(value, ""))
        if record is None and (definition.name == "Id" or update_only):
            p = Plan(index, sobject.name, None)
            p.errors.append(SalesforceError(404, "NOT_FOUND", "The requested resource does not exist"))
            plans.append(p)
            continue
        if record is None:
            values[definition.name] = value
        plans.append(plan(sobject, index, values, record))
    return plans


def delete(session: Session, record_ids: list[str]) -> dict[str, SalesforceError | None]:
    """Soft-delete (recycle bin): later reads answer ENTITY_IS_DELETED; external ids are freed."""
    found = fetch(session, record_ids, include_deleted=True)
    outcome: dict[str, SalesforceError | None] = {}
    live = []
    for record_id in record_ids:
        record = found.get(ids.to_18(record_id)) if ids.looks_like_id(record_id) else None
        if record is None:
            outcome[record_id] = SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
        elif record.is_deleted:
            outcome[record_id] = SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted")
        else:
            outcome[record_id] = None
            live.append(record)
    if live:
        now = clock.now_ms()
        stamp = clock.salesforce_datetime(now)
        session.execute(sa.update(_r).where(_r.c.id == sa.bindparam("b_id")).values(
            fields=sa.bindparam("b_fields"), modstamp=now, is_deleted=True, deleted_at=now),
            [{"b_id": r.id, "b_fields": json.dumps(dict(r.fields, IsDeleted=True, SystemModstamp=stamp))}
             for r in live])
        session.execute(sa.delete(_x).where(_x.c.record_id.in_([r.id for r in live])))
    return outcome


def convert_lead(session: Session, lead_id: str, *, create_opportunity: bool = True,
                 opportunity_name: str | None = None) -> Record:
    """Convert a lead as Salesforce's convertLead does: create Account, Contact and (optionally)
    Opportunity, then mark the lead converted. Raises SalesforceError if already converted."""
    lead = get(session, "Lead", lead_id)
    if lead.fields.get("IsConverted"):
        raise SalesforceError(400, "INVALID_STATUS", "This lead was already converted.")
    values = lead.fields
    # Same-named custom fields are mapped onto the new records, as an admin would set up lead
    # field mapping for the portal's fields.
    def mapped(sobject_name):
        target = describe(sobject_name)
        return {k: v for k, v in values.items() if k.endswith("__c") and target.field(k)
                and not target.field(k).unique and v is not None}
    account = create(session, "Account", dict(mapped("Account"), Name=values.get("Company") or values["LastName"]))
    contact = create(session, "Contact", dict(
        mapped("Contact"), LastName=values["LastName"], FirstName=values.get("FirstName"),
        Email=values.get("Email"), Phone=values.get("Phone"), Title=values.get("Title"),
        LeadSource=values.get("LeadSource"), AccountId=account.id))
    changes = {"IsConverted": True, "Status": fields.CONVERTED_STATUS, "ConvertedDate": clock.today_iso(),
               "ConvertedAccountId": account.id, "ConvertedContactId": contact.id}
    if create_opportunity:
        opportunity_values = dict(mapped("Opportunity"),
                                  Name=opportunity_name or f"{values.get('Company') or values['LastName']}-",
                                  StageName="Prospecting", CloseDate=_in_days(30),
                                  AccountId=account.id, LeadSource=values.get("LeadSource"))
        # The referral id is unique per object, so the opportunity may carry the lead's too.
        if values.get("Portal_Referral_Id__c"):
            opportunity_values["Portal_Referral_Id__c"] = values["Portal_Referral_Id__c"]
        opportunity = create(session, "Opportunity", opportunity_values)
        changes["ConvertedOpportunityId"] = opportunity.id
    return update(session, "Lead", lead.id, changes, system=True)


def _in_days(days: int) -> str:
    return (date.fromisoformat(clock.today_iso()) + timedelta(days=days)).isoformat()


def page(session: Session, sobject: str, *, offset: int, limit: int) -> tuple[list[Record], int]:
    where = [_r.c.sobject == sobject, _r.c.is_deleted.is_(False)]
    total = session.execute(sa.select(sa.func.count()).select_from(_r).where(*where)).scalar_one()
    rows = session.execute(sa.select(_r).where(*where).order_by(_r.c.modstamp.desc(), _r.c.seq.desc())
                           .offset(offset).limit(limit))
    return [_row(r) for r in rows], total


def updated_ids(session: Session, sobject: str, start_ms: int, end_ms: int) -> list[str]:
    """getUpdated: live records whose SystemModstamp lies in [start, end] (FACTS §2.11)."""
    rows = session.execute(sa.select(_r.c.id).where(
        _r.c.sobject == sobject, _r.c.is_deleted.is_(False), _r.c.modstamp >= start_ms,
        _r.c.modstamp <= end_ms + 999).order_by(_r.c.modstamp, _r.c.seq))
    return [row.id for row in rows]


def deleted_since(session: Session, sobject: str, start_ms: int, end_ms: int) -> list[tuple[str, int]]:
    rows = session.execute(sa.select(_r.c.id, _r.c.deleted_at).where(
        _r.c.sobject == sobject, _r.c.is_deleted.is_(True), _r.c.deleted_at >= start_ms,
        _r.c.deleted_at <= end_ms + 999).order_by(_r.c.deleted_at))
    return [(row.id, row.deleted_at) for row in rows]


def query_rows(session: Session, sobject: str, *, include_deleted: bool, low_ms: int | None,
               high_ms: int | None) -> list[Record]:
    """Candidate rows for a SOQL query, narrowed in SQL by the modstamp bounds it implies."""
    statement = sa.select(_r).where(_r.c.sobject == sobject)
    if not include_deleted:
        statement = statement.where(_r.c.is_deleted.is_(False))
    if low_ms is not None:
        statement = statement.where(_r.c.modstamp >= low_ms - 1)
    if high_ms is not None:
        statement = statement.where(_r.c.modstamp <= high_ms + 1)
    return [_row(row) for row in session.execute(statement.order_by(_r.c.seq))]
