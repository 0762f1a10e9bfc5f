"""Contacts, companies and deals: every write of the HubSpot sandbox goes through `save`.

API handlers, batch endpoints and the record pages all call these functions, so uniqueness,
`hs_lastmodifieddate`, deal-stage rules and webhook events behave the same whichever way a
record changes. Each call works on the whole batch with a fixed number of statements.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm_sandbox import clock, runtime, store
from crm_sandbox.hubspot import errors, object_types, pipelines, properties, webhooks

MAX_BATCH = 100  # "Object API batch endpoints are limited to 100 inputs per request" [FACTS §1.4]


@dataclass
class Record:
    id: int
    object_type: str
    properties: dict
    created_at: int
    updated_at: int
    archived: bool = False

    def values(self) -> dict:
        """Stored properties plus the ones kept in columns."""
        values = dict(self.properties)
        values["hs_object_id"] = str(self.id)
        values["createdate"] = clock.hubspot_iso(self.created_at)
        modified = clock.hubspot_iso(self.updated_at)
        values[properties.MODIFIED[self.object_type]] = modified
        if self.object_type == "contacts":
            values["hs_lastmodifieddate"] = modified
        return values


@dataclass
class Plan:
    """One input of a write: the record it changes (None to create) and its final properties."""
    index: int
    record: Record | None
    final: dict
    changed: dict = field(default_factory=dict)
    error: errors.HubSpotError | None = None
    trace_id: str | None = None
    result: Record | None = None


def _record(row) -> Record:
    return Record(row.id, row.object_type, json.loads(row.properties), row.created_at,
                  row.updated_at, row.archived)


def fetch(session: Session, object_type: str, ids, *, archived: bool = False) -> dict[int, Record]:
    ids = [int(i) for i in ids]
    if not ids:
        return {}
    t = store.hs_objects
    rows = session.execute(sa.select(t).where(
        t.c.object_type == object_type, t.c.archived.is_(archived), t.c.id.in_(ids)))
    return {row.id: _record(row) for row in rows}


def resolve(session: Session, object_type: str, values: list[str], id_property: str | None,
            *, for_update: bool = False) -> dict[str, int]:
    """Map input ids (record ids, or values of a unique property) to record ids."""
    if id_property in (None, "", "hs_object_id"):
        found = {}
        for value in values:
            text = str(value)
            if text.isdigit():
                found[text] = int(text)
        return found
    defs = properties.definitions(session, object_type)
    unique = properties.unique_names(object_type, defs)
    # Batch update by email is refused by HubSpot ("non-unique 0-1 property"), FACTS §1.4.
    if id_property not in unique or (for_update and id_property == "email"):
        raise non_unique(object_type, id_property)
    lowered = {str(v).strip().lower(): str(v) for v in values}
    t = store.hs_unique
    rows = session.execute(sa.select(t.c.value, t.c.object_id).where(
        t.c.object_type == object_type, t.c.name == id_property, t.c.value.in_(list(lowered))))
    return {lowered[row.value]: row.object_id for row in rows}


def non_unique(object_type: str, id_property: str) -> errors.HubSpotError:
    portal = runtime.sandbox().settings["SANDBOX_HUBSPOT_PORTAL_ID"]
    return errors.validation(
        f"Unable to perform update/upsert by non-unique {object_types.TYPE_IDS[object_type]} "
        f"property {id_property} in portal ID {portal}")


# --- planning ----------------------------------------------------------------------------------

def plan_create(defs: dict, object_type: str, index: int, values: dict, trace_id=None) -> Plan:
    clean, problems = properties.normalize(defs, values)
    plan = Plan(index, None, {k: v for k, v in clean.items() if v is not None}, trace_id=trace_id)
    if problems:
        plan.error = errors.invalid_properties(problems)
        return plan
    plan.error = _check_required(object_type, plan.final)
    if not plan.error:
        plan.error = _derive(object_type, plan.final)
    plan.changed = dict(plan.final)
    return plan


def plan_update(defs: dict, record: Record, index: int, values: dict, trace_id=None,
                *, system: bool = False) -> Plan:
    clean, problems = properties.normalize(defs, values, system=system)
    final = dict(record.properties)
    for name, value in clean.items():
        if value is None:
            final.pop(name, None)
        else:
            final[name] = value
    plan = Plan(index, record, final, trace_id=trace_id)
    if problems:
        plan.error = errors.invalid_properties(problems)
        return plan
    plan.error = _derive(record.object_type, final)
    plan.changed = {k: final.get(k) for k in set(final) | set(record.properties)
                    if final.get(k) != record.properties.get(k)}
    return plan


def _check_required(object_type: str, final: dict) -> errors.HubSpotError | None:
    if object_type == "deals":
        missing = [name for name in ("dealname", "dealstage") if not final.get(name)]
        if missing:
            return errors.validation(
                f"Missing required properties: {missing}",
                [{"message": f'Property "{m}" is required', "code": "REQUIRED_FIELD",
                  "context": {"propertyName": [m]}} for m in missing])
    if object_type == "companies" and not (final.get("domain") or final.get("name")):
        return errors.validation("A company needs at least one of domain or name", [
            {"message": 'Property "name" or "domain" is required', "code": "REQUIRED_FIELD",
             "context": {"propertyName": ["name", "domain"]}}])
    return None


def _derive(object_type: str, final: dict) -> errors.HubSpotError | None:
    """Deals: default pipeline, stage must belong to it, and the calculated closed/won flags."""
    if object_type != "deals":
        return None
    final.setdefault("pipeline", pipelines.DEFAULT_PIPELINE)
    stage_id = final.get("dealstage")
    if stage_id is None:
        return None
    stage = pipelines.stage(final["pipeline"], stage_id)
    if stage is None:
        return errors.invalid_properties([{
            "name": "dealstage", "code": "INVALID_OPTION",
            "message": f"{stage_id} is not a valid stage of pipeline {final['pipeline']}"}])
    final["hs_is_closed"] = stage["metadata"]["isClosed"]
    final["hs_is_closed_won"] = "true" if stage["id"] == "closedwon" else "false"
    final["hs_deal_stage_probability"] = stage["metadata"]["probability"]
    return None


def _check_unique(session: Session, object_type: str, defs: dict, plans: list[Plan]) -> None:
    """Mark plans whose email or unique-property value belongs to another record (or input)."""
    names = properties.unique_names(object_type, defs)
    claims: dict[tuple[str, str], Plan] = {}
    for plan in plans:
        if plan.error:
            continue
        for name in names:
            value = plan.final.get(name)
            if value is None:
                continue
            key = (name, str(value).lower())
            other = claims.get(key)
            if other is not None:
                plan.error = _conflict(object_type, name, value, None)
            else:
                claims[key] = plan
    by_name: dict[str, list[str]] = {}
    for name, value in claims:
        by_name.setdefault(name, []).append(value)
    t = store.hs_unique
    for name, values in by_name.items():
        rows = session.execute(sa.select(t.c.value, t.c.object_id).where(
            t.c.object_type == object_type, t.c.name == name, t.c.value.in_(values)))
        for row in rows:
            plan = claims[(name, row.value)]
            if plan.record is None or plan.record.id != row.object_id:
                plan.error = plan.error or _conflict(object_type, name, row.value, row.object_id)


def _conflict(object_type: str, name: str, value: str, existing: int | None) -> errors.HubSpotError:
    if object_type == "contacts" and name == "email":
        if existing is None:
            return errors.HubSpotError(409, f"Duplicate email in batch input: {value}", "CONFLICT")
        # FACTS §1.9: the existing id is only in the message text.
        return errors.HubSpotError(409, f"Contact already exists. Existing ID: {existing}", "CONFLICT")
    suffix = f" Existing ID: {existing}" if existing is not None else " (twice in this batch)"
    return errors.HubSpotError(
        409, f"A {object_types.SINGULAR[object_type]} with {name}={value} already exists.{suffix}",
        "CONFLICT", context={"propertyName": [name], "existingId": [str(existing or "")]})


# --- applying ----------------------------------------------------------------------------------

def save(session: Session, object_type: str, plans: list[Plan], *, source: str = "API") -> list[Plan]:
    """Check uniqueness, then write every plan without an error; returns the plans."""
    defs = properties.definitions(session, object_type)
    _check_unique(session, object_type, defs, plans)
    now = clock.now_ms()
    creates = [p for p in plans if not p.error and p.record is None]
    updates = [p for p in plans if not p.error and p.record is not None and p.changed]
    for p in plans:
        if not p.error and p.record is not None and not p.changed:
            p.result = p.record
    t = store.hs_objects
    if creates:
        rows = session.execute(
            sa.insert(t).returning(t.c.id, sort_by_parameter_order=True),
            [{"object_type": object_type, "properties": json.dumps(p.final), "created_at": now,
              "updated_at": now, "archived": False} for p in creates])
        for plan, row in zip(creates, rows):
            plan.result = Record(row.id, object_type, plan.final, now, now)
    if updates:
        session.execute(
            sa.update(t).where(t.c.id == sa.bindparam("b_id")).values(
                properties=sa.bindparam("b_props"), updated_at=sa.bindparam("b_now")),
            [{"b_id": p.record.id, "b_props": json.dumps(p.final), "b_now": now} for p in updates])
        for plan in updates:
            plan.result = Record(plan.record.id, object_type, plan.final, plan.record.created_at, now)
    written = creates + updates
    if written:
        _reindex(session, object_type, defs, [p.result for p in written],
                 replace=[p.record.id for p in updates])
        webhooks.record_changes(object_type, [
            (p.result.id, p.record is None, {k: v for k, v in p.changed.items()
                                             if k not in properties.COLUMN_BACKED})
            for p in written], source=source)
    return plans


def _reindex(session: Session, object_type: str, defs: dict, records: list[Record],
             replace: list[int]) -> None:
    if replace:
        session.execute(sa.delete(store.hs_values).where(store.hs_values.c.object_id.in_(replace)))
        session.execute(sa.delete(store.hs_unique).where(store.hs_unique.c.object_id.in_(replace)))
    unique = properties.unique_names(object_type, defs)
    value_rows, unique_rows = [], []
    for record in records:
        for name, value in record.properties.items():
            definition = defs.get(name)
            value_rows.append({"object_id": record.id, "name": name, "value_lower": str(value).lower(),
                               "value_num": properties.number_value(definition, value)})
            if name in unique:
                unique_rows.append({"object_type": object_type, "name": name,
                                    "value": str(value).lower(), "object_id": record.id})
    if value_rows:
        session.execute(sa.insert(store.hs_values), value_rows)
    if unique_rows:
        session.execute(sa.insert(store.hs_unique), unique_rows)


def raise_first_error(plans: list[Plan]) -> None:
    for plan in plans:
        if plan.error:
            raise plan.error


# --- use cases ---------------------------------------------------------------------------------

def create(session: Session, object_type: str, values: dict, *, source: str = "API") -> Record:
    """Create one record. Raises HubSpotError (400 invalid, 409 duplicate email)."""
    defs = properties.definitions(session, object_type)
    plan = plan_create(defs, object_type, 0, values)
    save(session, object_type, [plan], source=source)
    raise_first_error([plan])
    return plan.result


def get(session: Session, object_type: str, record_id, *, id_property: str | None = None,
        archived: bool = False) -> Record:
    """One record by id or unique property value. Raises a 404 HubSpotError."""
    ids = resolve(session, object_type, [str(record_id)], id_property)
    found = fetch(session, object_type, ids.values(), archived=archived)
    record = found.get(ids.get(str(record_id), -1))
    if record is None:
        raise errors.not_found("Object not found.  objectId are usually numeric.")
    return record


def update(session: Session, object_type: str, record_id, values: dict, *,
           id_property: str | None = None, source: str = "API") -> Record:
    """Update one record's properties (empty string clears). Raises HubSpotError."""
    record = get(session, object_type, record_id, id_property=id_property)
    defs = properties.definitions(session, object_type)
    plan = plan_update(defs, record, 0, values)
    save(session, object_type, [plan], source=source)
    raise_first_error([plan])
    return plan.result


def archive(session: Session, object_type: str, ids) -> list[int]:
    """Archive records (missing ids are ignored, as HubSpot does). Frees their unique values."""
    found = fetch(session, object_type, ids)
    if not found:
        return []
    keys = list(found)
    session.execute(sa.update(store.hs_objects).where(store.hs_objects.c.id.in_(keys)).values(
        archived=True, updated_at=clock.now_ms()))
    session.execute(sa.delete(store.hs_unique).where(store.hs_unique.c.object_id.in_(keys)))
    webhooks.record_deletions(object_type, keys)
    return keys


def page(session: Session, object_type: str, *, limit: int, after: int,
         archived: bool = False) -> tuple[list[Record], int | None]:
    """Records in id order after the cursor; returns (records, next cursor or None)."""
    t = store.hs_objects
    rows = session.execute(sa.select(t).where(
        t.c.object_type == object_type, t.c.archived.is_(archived), t.c.id > after,
    ).order_by(t.c.id).limit(limit + 1)).all()
    records = [_record(r) for r in rows[:limit]]
    return records, (records[-1].id if len(rows) > limit else None)


def check_batch_size(inputs) -> list:
    if not isinstance(inputs, list):
        raise errors.validation("inputs must be a list")
    if len(inputs) > MAX_BATCH:
        raise errors.validation(f"Batch input size {len(inputs)} exceeds the limit of {MAX_BATCH}",
                                [{"message": f"inputs: size must be between 0 and {MAX_BATCH}",
                                  "code": "INVALID_INPUT", "context": {}}])
    for index, item in enumerate(inputs):
        if not isinstance(item, dict):
            # HubSpot's deserializer answers a 400 naming the line and the bad value.
            kind = "null" if item is None else "an array" if isinstance(item, list) else "a scalar"
            raise errors.validation(f"Invalid input JSON on line 1: inputs[{index}] is {kind}; "
                                    "each input must be a JSON object",
                                    [{"message": f"inputs[{index}]: must be an object",
                                      "code": "INVALID_INPUT", "context": {}}])
    return inputs


def recent(session: Session, object_type: str, *, offset: int, limit: int) -> tuple[list[Record], int]:
    """Live records, most recently modified first (the record pages' lists)."""
    t = store.hs_objects
    where = [t.c.object_type == object_type, t.c.archived.is_(False)]
    total = session.execute(sa.select(sa.func.count()).select_from(t).where(*where)).scalar_one()
    rows = session.execute(sa.select(t).where(*where).order_by(t.c.updated_at.desc(), t.c.id.desc())
                           .offset(offset).limit(limit))
    return [_record(r) for r in rows], total
