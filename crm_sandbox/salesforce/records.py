"""Leads, contacts, accounts and opportunities: every Salesforce write goes through `save`.

REST calls, collections, upserts, the record pages and lead conversion share it, so required
fields, restricted picklists, unique external ids and `SystemModstamp` behave the same everywhere.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm_sandbox import clock, store
from crm_sandbox.salesforce import fields, ids, org
from crm_sandbox.salesforce.errors import SalesforceError

_r = store.sf_records
_x = store.sf_external_ids
_l = store.sf_lookup
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
class Ref:
    """A parent set by its external id in a write: `"Account": {"Portal_Org_Id__c": "O-1"}`."""
    field: str          # AccountId
    sobject: str        # Account
    ext_field: str      # Portal_Org_Id__c
    value: str


@dataclass
class Plan:
    """One record to write: the existing record (None to create) and its final field values."""
    index: int
    sobject: str
    record: Record | None
    final: dict = field(default_factory=dict)
    errors: list[SalesforceError] = field(default_factory=list)
    result: Record | None = None
    refs: list[Ref] = field(default_factory=list)
    changed: set = field(default_factory=set)


def describe(name: str) -> fields.SObject:
    sobject = fields.sobject(name)
    if sobject is None:
        raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
    return sobject


def writable(name: str) -> fields.SObject:
    """An sObject the API may write; setup objects are read-only in this sandbox."""
    sobject = describe(name)
    if sobject.setup:
        raise SalesforceError(400, "INVALID_TYPE_FOR_OPERATION",
                              f"entity type cannot be inserted, updated or deleted: {sobject.name}")
    return sobject


def _row(row) -> Record:
    return Record(row.id, row.sobject, json.loads(row.fields), row.modstamp, row.is_deleted)


def fetch(session: Session, record_ids, *, sobject: str | None = None,
          include_deleted: bool = False) -> dict[str, Record]:
    keys = [ids.to_18(i) for i in record_ids if ids.looks_like_id(i)]
    if not keys:
        return {}
    if sobject and describe(sobject).setup:
        wanted = set(keys)
        return {r.id: r for r in setup_rows(sobject) if r.id in wanted}
    statement = sa.select(_r).where(_r.c.id.in_(keys))
    if sobject:
        statement = statement.where(_r.c.sobject == sobject)
    if not include_deleted:
        statement = statement.where(_r.c.is_deleted.is_(False))
    return {row.id: _row(row) for row in session.execute(statement)}


def setup_rows(sobject: str) -> list[Record]:
    return [Record(values["Id"], sobject, values, 0) for values in org.setup_records(sobject)]


def get(session: Session, sobject: str, record_id: str) -> Record:
    """One live record. Raises 404 NOT_FOUND, or ENTITY_IS_DELETED for a deleted one."""
    found = fetch(session, [record_id], sobject=sobject, include_deleted=True)
    record = found.get(ids.to_18(record_id)) if ids.looks_like_id(record_id) else None
    if record is None:
        raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
    if record.is_deleted:
        raise SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted")
    return record


def matching(session: Session, sobject: str, field_name: str, values) -> dict[str, list[str]]:
    """{value (as given): [live record ids]} for an external-id or Email field, case-insensitively."""
    lowered: dict[str, list[str]] = {}
    for value in values:
        lowered.setdefault(str(value).lower(), []).append(str(value))
    if not lowered:
        return {}
    rows = session.execute(sa.select(_l.c.value, _l.c.record_id).where(
        _l.c.sobject == sobject, _l.c.field == field_name, _l.c.value.in_(list(lowered)))
        .order_by(_l.c.record_id))
    found: dict[str, list[str]] = {}
    for row in rows:
        for given in lowered[row.value]:
            found.setdefault(given, []).append(row.record_id)
    return found


def external_id_field(sobject: fields.SObject, name: str) -> fields.Field:
    found = sobject.field(name)
    if found is None or not (found.external_id or found.name == "Id"):
        raise SalesforceError(404, "NOT_FOUND",
                              f"Provided external ID field does not exist or is not accessible: {name}")
    return found


def multiple_matches(field_name: str, record_ids: list[str]) -> SalesforceError:
    """An external id held by several records (FACTS §2.3: 300 on the single-record resources)."""
    return SalesforceError(300, "DUPLICATE_EXTERNAL_ID",
                           f"{field_name}: more than one record found for external id field: "
                           f"[{', '.join(record_ids)}]", [field_name])


# --- planning ----------------------------------------------------------------------------------

def plan(sobject: fields.SObject, index: int, values: dict,
         record: Record | None, *, system: bool = False) -> Plan:
    """Validate values for a create (record None) or an update, and compute the final fields."""
    result = Plan(index, sobject.name, record)
    final = dict(record.fields) if record else {}
    if not isinstance(values, dict):
        result.errors.append(SalesforceError(400, "JSON_PARSER_ERROR", "Expected a JSON object"))
        return result
    if sobject.setup:
        result.errors.append(SalesforceError(400, "INVALID_TYPE_FOR_OPERATION",
                                             f"entity type cannot be inserted, updated or deleted: {sobject.name}"))
        return result
    if record is not None and sobject.name == "Lead" and record.fields.get("IsConverted") and not system:
        result.errors.append(SalesforceError(400, "CANNOT_UPDATE_CONVERTED_LEAD",
                                             "cannot reference converted lead"))
        return result
    bad_access = []
    for name, raw in values.items():
        if name == "attributes" or (name == "Id" and record is not None):
            continue
        definition = sobject.field(name)
        if definition is None:
            reference = sobject.relationship(name)
            if reference is not None and isinstance(raw, dict):
                _plan_ref(result, reference, raw, record, system)
                continue
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
            result.changed.add(definition.name)
    if bad_access:
        result.errors.append(SalesforceError(
            400, "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(bad_access)}. Please check the security "
            "settings of this field and verify that it is read/write for your profile or permission set.",
            bad_access))
    if record is None:
        _defaults(sobject, final)
    _derive(sobject, final, values, record)
    _check_setup_references(sobject, final, result)
    missing = [f.name for f in sobject.fields.values()
               if not f.nillable and f.createable and final.get(f.name) in (None, "")
               and not any(r.field == f.name for r in result.refs)]
    if missing:
        result.errors.append(SalesforceError(
            400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing))
    result.final = final
    return result


def _plan_ref(result: Plan, reference: fields.Field, raw: dict, record: Record | None, system: bool) -> None:
    allowed = reference.createable if record is None else reference.updateable
    if not allowed and not system:
        result.errors.append(SalesforceError(
            400, "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {reference.name}.", [reference.name]))
        return
    target = fields.sobject(reference.reference_to[0]) if reference.reference_to else None
    keys = [k for k in raw if k != "attributes"]
    ext = target.field(keys[0]) if target is not None and len(keys) == 1 else None
    if ext is None or not ext.external_id or raw[keys[0]] in (None, ""):
        result.errors.append(SalesforceError(
            400, "INVALID_FIELD", f"{reference.relationship_name}: a parent reference names exactly one "
            f"external ID field of {reference.reference_to[0] if reference.reference_to else '?'} and its value",
            [reference.name]))
        return
    result.refs.append(Ref(reference.name, target.name, ext.name, str(raw[keys[0]])))
    result.changed.add(reference.name)


def _check_setup_references(sobject: fields.SObject, final: dict, result: Plan) -> None:
    """Record types are validated per object; owners must be active users of the org."""
    if "RecordTypeId" in result.changed and final.get("RecordTypeId"):
        valid = {t.id for t in sobject.record_types}
        if final["RecordTypeId"] not in valid:
            result.errors.append(SalesforceError(
                400, "INVALID_CROSS_REFERENCE_KEY",
                f"Record Type ID: this ID value isn't valid for the user: {final['RecordTypeId']}",
                ["RecordTypeId"]))
    if "OwnerId" in result.changed and final.get("OwnerId"):
        if final["OwnerId"] not in org.user_ids():
            result.errors.append(SalesforceError(
                400, "INVALID_CROSS_REFERENCE_KEY", "Owner ID: id value of incorrect type", ["OwnerId"]))
        elif final["OwnerId"] not in org.user_ids(active_only=True):
            result.errors.append(SalesforceError(
                400, "INACTIVE_OWNER_OR_USER", "operation performed with inactive user as owner", ["OwnerId"]))


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
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            return None, SalesforceError(400, "JSON_PARSER_ERROR",
                                         f"Cannot deserialize instance of {kind} from {raw!r} for {name}", [name])
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
    if "OwnerId" in sobject.fields:
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


def _unique_fields(sobject: str) -> list[str]:
    return [f.name for f in describe(sobject).fields.values() if f.external_id and f.unique]


def lookup_fields(sobject: str) -> list[str]:
    """Fields kept in sf_lookup: every external id, Email (duplicate rules, SOQL narrowing) and
    the reference field of each child relationship (`(SELECT Id FROM Contacts)` on Account)."""
    child_fields = {c.field for s in fields.schema().values() for c in s.children if c.sobject == sobject}
    return [f.name for f in describe(sobject).fields.values()
            if f.external_id or f.type == "email" or f.name in child_fields]


def check_unique(session: Session, plans: list[Plan]) -> None:
    """DUPLICATE_VALUE for unique external-id values held by another record or twice in the batch."""
    claims: dict[tuple, Plan] = {}
    for p in plans:
        if p.errors:
            continue
        for name in _unique_fields(p.sobject):
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
        rows = session.execute(sa.select(_l.c.value, _l.c.record_id).where(
            _l.c.sobject == sobject, _l.c.field == name, _l.c.value.in_(values)))
        for row in rows:
            p = claims[(sobject, name, row.value)]
            if p.record is None or p.record.id != row.record_id:
                if not any(e.error_code == "DUPLICATE_VALUE" for e in p.errors):
                    p.errors.append(SalesforceError(
                        400, "DUPLICATE_VALUE", f"duplicate value found: {name} duplicates value on "
                        f"record with id: {row.record_id}", []))


def resolve_refs(session: Session, plans: list[Plan]) -> None:
    """Turn `"Account": {"Portal_Org_Id__c": "O-1"}` into AccountId, one lookup per (object, field)."""
    wanted: dict[tuple[str, str], set[str]] = {}
    for p in plans:
        for ref in p.refs:
            wanted.setdefault((ref.sobject, ref.ext_field), set()).add(ref.value)
    found = {key: matching(session, key[0], key[1], values) for key, values in wanted.items()}
    for p in plans:
        for ref in p.refs:
            hits = found[(ref.sobject, ref.ext_field)].get(ref.value, [])
            if not hits:
                p.errors.append(SalesforceError(
                    400, "INVALID_FIELD", f"Foreign key external ID: {ref.value} not found for field "
                    f"{ref.ext_field} in entity {ref.sobject}", []))
            elif len(hits) > 1:
                p.errors.append(SalesforceError(
                    400, "INVALID_FIELD", f"More than 1 record found for external id field {ref.ext_field} "
                    f"in entity {ref.sobject}: {', '.join(hits)}", []))
            else:
                p.final[ref.field] = hits[0]
        if p.refs and not p.errors:
            sobject = describe(p.sobject)
            missing = [f.name for f in sobject.fields.values()
                       if not f.nillable and f.createable and p.final.get(f.name) in (None, "")]
            if missing:
                p.errors.append(SalesforceError(
                    400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                    missing))


def check_references(session: Session, plans: list[Plan]) -> None:
    """Reference fields set in this write must point at a live record of the referenced object."""
    wanted: dict[str, set[str]] = {}
    for p in plans:
        if p.errors:
            continue
        sobject = describe(p.sobject)
        for name in p.changed:
            definition = sobject.fields.get(name)
            value = p.final.get(name)
            if definition is None or definition.type != "reference" or not value:
                continue
            target = definition.reference_to[0] if definition.reference_to else None
            if target in ("Account", "Contact", "Opportunity", "Lead"):
                wanted.setdefault(target, set()).add(value)
    present = {target: fetch(session, values, sobject=target) for target, values in wanted.items()}
    for p in plans:
        if p.errors:
            continue
        sobject = describe(p.sobject)
        for name in sorted(p.changed):
            definition = sobject.fields.get(name)
            value = p.final.get(name)
            if definition is None or definition.type != "reference" or not value:
                continue
            target = definition.reference_to[0] if definition.reference_to else None
            if target in present and value not in present[target]:
                p.errors.append(SalesforceError(
                    400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name]))


def check_duplicates(session: Session, plans: list[Plan], *, allow_save: bool) -> None:
    """The org's duplicate rules on Lead and Contact email (FACTS §2.9 DUPLICATES_DETECTED).

    Matching is exact on Email, case-insensitive, against existing live records of the same
    object; records of one batch are not matched against each other, as in Salesforce's imports.
    """
    mode = org.duplicate_rules()
    if mode == "off" or (mode == "alert" and allow_save):
        return
    candidates = [p for p in plans if not p.errors and p.sobject in ("Lead", "Contact")
                  and p.final.get("Email") and (p.record is None or "Email" in p.changed)]
    by_object: dict[str, list[Plan]] = {}
    for p in candidates:
        by_object.setdefault(p.sobject, []).append(p)
    for sobject, group in by_object.items():
        found = matching(session, sobject, "Email", [p.final["Email"] for p in group])
        for p in group:
            others = [i for i in found.get(p.final["Email"], []) if p.record is None or i != p.record.id]
            if others:
                p.errors.append(duplicates_detected(sobject, others, allow_save=mode == "alert"))


def duplicates_detected(sobject: str, record_ids: list[str], *, allow_save: bool) -> SalesforceError:
    message = "You're creating a duplicate record. We recommend you use an existing record instead."
    version = "v" + str(68) + ".0"
    result = {
        "allowSave": allow_save, "duplicateRule": f"Standard_{sobject}_Duplicate_Rule",
        "duplicateRuleEntityType": sobject, "errorMessage": message,
        "matchResults": [{
            "entityType": sobject, "errors": [], "matchEngine": "ExactMatchEngine",
            "matchRecords": [{"additionalInformation": [], "fieldDiffs": [], "matchConfidence": 100.0,
                              "record": {"attributes": {"type": sobject,
                                                        "url": f"/services/data/{version}/sobjects/{sobject}/{i}"},
                                         "Id": i}} for i in record_ids],
            "rule": f"Standard_{sobject}_Match_Rule_v1_1", "size": len(record_ids), "success": True}],
    }
    # "duplicateResut" (sic) is the key Salesforce's REST API really sends (FACTS §2.9).
    return SalesforceError(400, "DUPLICATES_DETECTED", message, [], extra={"duplicateResut": result})


# --- applying ----------------------------------------------------------------------------------

def save(session: Session, plans: list[Plan], *, all_or_none: bool = False,
         duplicate_rules: bool = False, allow_save: bool = False) -> list[Plan]:
    """Write every plan without errors (none at all if all_or_none and one failed).

    duplicate_rules: run the org's duplicate rules (API writes do; lead conversion and the
    record pages don't); allow_save: the caller sent `Sforce-Duplicate-Rule-Header: allowSave=true`.
    """
    resolve_refs(session, plans)
    check_unique(session, plans)
    check_references(session, plans)
    if duplicate_rules:
        check_duplicates(session, plans, allow_save=allow_save)
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
        updated_ids = [p.record.id for p in updates]
        session.execute(sa.delete(_x).where(_x.c.record_id.in_(updated_ids)))
        session.execute(sa.delete(_l).where(_l.c.record_id.in_(updated_ids)))
    written = creates + updates
    unique_rows = [{"sobject": p.sobject, "field": name, "value": str(p.final[name]).lower(),
                    "record_id": p.result.id}
                   for p in written for name in _unique_fields(p.sobject) if p.final.get(name) is not None]
    if unique_rows:
        session.execute(sa.insert(_x), unique_rows)
    lookup_rows = [{"sobject": p.sobject, "field": name, "value": str(p.final[name]).lower()[:255],
                    "record_id": p.result.id}
                   for p in written for name in lookup_fields(p.sobject) if p.final.get(name) is not None]
    if lookup_rows:
        session.execute(sa.insert(_l), lookup_rows)
    return plans


def rebuild_lookup(session: Session) -> int:
    """Fill sf_lookup from the records when it is empty (a database written before it existed)."""
    if session.execute(sa.select(_l.c.record_id).limit(1)).first() is not None:
        return 0
    rows = []
    for row in session.execute(sa.select(_r).where(_r.c.is_deleted.is_(False))):
        if fields.sobject(row.sobject) is None:
            continue
        values = json.loads(row.fields)
        rows += [{"sobject": row.sobject, "field": name, "value": str(values[name]).lower()[:255],
                  "record_id": row.id} for name in lookup_fields(row.sobject) if values.get(name) is not None]
    if rows:
        session.execute(sa.insert(_l), rows)
    return len(rows)


def raise_first(p: Plan) -> Record:
    if p.errors:
        raise p.errors[0]
    return p.result


def create(session: Session, sobject_name: str, values: dict, *, duplicate_rules: bool = False,
           allow_save: bool = False) -> Record:
    """Create one record. Raises SalesforceError (REQUIRED_FIELD_MISSING, DUPLICATE_VALUE, ...)."""
    sobject = writable(sobject_name)
    if "Id" in (values or {}):
        raise SalesforceError(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                              "Unable to create/update fields: Id.", ["Id"])
    return raise_first(save(session, [plan(sobject, 0, values, None)], duplicate_rules=duplicate_rules,
                            allow_save=allow_save)[0])


def update(session: Session, sobject_name: str, record_id: str, values: dict, *,
           system: bool = False, duplicate_rules: bool = False, allow_save: bool = False) -> Record:
    """Update one record's fields. Raises SalesforceError."""
    sobject = writable(sobject_name)
    record = get(session, sobject.name, record_id)
    return raise_first(save(session, [plan(sobject, 0, values, record, system=system)],
                            duplicate_rules=duplicate_rules, allow_save=allow_save)[0])


def upsert_plans(session: Session, sobject: fields.SObject, field_name: str,
                 items: list[tuple[str, dict]], *, update_only: bool = False) -> list[Plan]:
    """Plans for upserting (external id value, values) pairs by an external-id field (or Id).

    A value held by several records (a non-unique external id) fails with DUPLICATE_EXTERNAL_ID,
    status 300, the way the single-record resource answers 300 Multiple Choices.
    """
    definition = external_id_field(sobject, field_name)
    if definition.name == "Id":
        found = fetch(session, [v for v, _ in items], sobject=sobject.name)
        matches = {v: [ids.to_18(v)] for v, _ in items if ids.looks_like_id(v) and ids.to_18(v) in found}
    else:
        matches = matching(session, sobject.name, definition.name, [v for v, _ in items])
        found = fetch(session, [i for hits in matches.values() for i in hits], sobject=sobject.name)
    plans = []
    for index, (value, values) in enumerate(items):
        if not isinstance(values, dict):
            p = Plan(index, sobject.name, None)
            p.errors.append(SalesforceError(400, "JSON_PARSER_ERROR", "Expected a JSON object"))
            plans.append(p)
            continue
        values = dict(values)
        given = values.pop(definition.name, None)
        if given is not None and str(given).lower() != str(value).lower():
            p = Plan(index, sobject.name, None)
            p.errors.append(SalesforceError(400, "INVALID_FIELD",
                                            f"Do not specify {definition.name} in the request body", [definition.name]))
            plans.append(p)
            continue
        hits = matches.get(value, [])
        if len(hits) > 1:
            p = Plan(index, sobject.name, None)
            p.errors.append(multiple_matches(definition.name, hits))
            plans.append(p)
            continue
        record = found.get(hits[0]) if hits else None
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
        session.execute(sa.delete(_l).where(_l.c.record_id.in_([r.id for r in live])))
    return outcome


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
               high_ms: int | None, narrow: tuple[str, list] | None = None) -> list[Record]:
    """Candidate rows for a SOQL query, narrowed in SQL by the modstamp bounds it implies and by
    an indexed condition (`Id`, an external id or Email `=`/`IN`) when it has one."""
    if describe(sobject).setup:
        return setup_rows(sobject)
    statement = sa.select(_r).where(_r.c.sobject == sobject)
    if narrow is not None:
        name, values = narrow
        if name == "Id":
            statement = statement.where(_r.c.id.in_([ids.to_18(v) for v in values if ids.looks_like_id(v)]))
        else:
            statement = statement.where(_r.c.id.in_(sa.select(_l.c.record_id).where(
                _l.c.sobject == sobject, _l.c.field == name,
                _l.c.value.in_([str(v).lower() for v in values]))))
    if not include_deleted:
        statement = statement.where(_r.c.is_deleted.is_(False))
    if low_ms is not None:
        statement = statement.where(_r.c.modstamp >= low_ms - 1)
    if high_ms is not None:
        statement = statement.where(_r.c.modstamp <= high_ms + 1)
    return [_row(row) for row in session.execute(statement.order_by(_r.c.seq))]
