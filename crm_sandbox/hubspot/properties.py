"""Property definitions (built-in and custom) and the validation of property values.

All values travel as strings (FACTS §1.2); they are checked against the property's type here,
once, for the API and the record pages alike.
"""
from __future__ import annotations

import json
import re

import sqlalchemy as sa
from flask import g
from sqlalchemy.orm import Session

from crm_sandbox import clock, store
from crm_sandbox.hubspot import errors, pipelines

TYPES = ("string", "number", "date", "datetime", "enumeration", "bool")
FIELD_TYPES = ("textarea", "text", "date", "file", "number", "select", "radio", "checkbox",
               "booleancheckbox", "calculation_equation", "html", "phonenumber")
GROUPS = {"contacts": "contactinformation", "companies": "companyinformation",
          "deals": "dealinformation"}
MAX_UNIQUE_PER_OBJECT = 10  # "up to ten unique ID properties per object" [FACTS §1.2]

# Kept in columns of hs_objects, not in the properties JSON: derived when a record is read.
CREATED = "createdate"
MODIFIED = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate",
            "deals": "hs_lastmodifieddate"}
COLUMN_BACKED = {"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate"}

DEFAULT_RETURNED = {  # FACTS §1.5, the properties HubSpot returns when none are asked for
    "contacts": ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"],
    "companies": ["createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"],
    "deals": ["amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate",
              "hs_object_id", "pipeline"],
}

_EPOCH = "1970-01-01T00:00:00Z"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _option(value: str, label: str, order: int) -> dict:
    return {"label": label, "value": value, "displayOrder": order, "hidden": False, "description": ""}


def _definition(object_type: str, name: str, label: str, type_: str = "string",
                field_type: str = "text", *, options: list | None = None, read_only: bool = False,
                calculated: bool = False, unique: bool = False, hubspot_defined: bool = True,
                description: str = "", group: str | None = None) -> dict:
    return {
        "name": name, "label": label, "type": type_, "fieldType": field_type,
        "description": description, "groupName": group or GROUPS[object_type],
        "options": options or [], "displayOrder": -1, "calculated": calculated,
        "externalOptions": False, "hasUniqueValue": unique, "hidden": False,
        "hubspotDefined": hubspot_defined, "formField": not read_only,
        "modificationMetadata": {"archivable": not hubspot_defined,
                                 "readOnlyDefinition": hubspot_defined,
                                 "readOnlyValue": read_only},
        "createdAt": _EPOCH, "updatedAt": _EPOCH, "archived": False,
    }


_LIFECYCLE = [_option(v, label, i) for i, (v, label) in enumerate([
    ("subscriber", "Subscriber"), ("lead", "Lead"), ("marketingqualifiedlead", "Marketing qualified lead"),
    ("salesqualifiedlead", "Sales qualified lead"), ("opportunity", "Opportunity"),
    ("customer", "Customer"), ("evangelist", "Evangelist"), ("other", "Other")])]


def _common(object_type: str, modified: str) -> list[dict]:
    return [
        _definition(object_type, "hs_object_id", "Record ID", "number", "number", read_only=True),
        _definition(object_type, "createdate", "Create date", "datetime", "date", read_only=True),
        _definition(object_type, modified, "Last modified date", "datetime", "date", read_only=True),
        _definition(object_type, "hubspot_owner_id", "Owner", "enumeration", "select"),
    ]


def _builtins() -> dict[str, dict[str, dict]]:
    contacts = _common("contacts", "lastmodifieddate") + [
        _definition("contacts", "hs_lastmodifieddate", "Object last modified date/time", "datetime",
                    "date", read_only=True),
        _definition("contacts", "email", "Email"),
        _definition("contacts", "firstname", "First name"),
        _definition("contacts", "lastname", "Last name"),
        _definition("contacts", "phone", "Phone number", field_type="phonenumber"),
        _definition("contacts", "mobilephone", "Mobile phone number", field_type="phonenumber"),
        _definition("contacts", "company", "Company name"),
        _definition("contacts", "website", "Website URL"),
        _definition("contacts", "jobtitle", "Job title"),
        _definition("contacts", "city", "City"),
        _definition("contacts", "country", "Country/Region"),
        _definition("contacts", "lifecyclestage", "Lifecycle stage", "enumeration", "radio",
                    options=_LIFECYCLE),
    ]
    companies = _common("companies", "hs_lastmodifieddate") + [
        _definition("companies", "name", "Company name"),
        _definition("companies", "domain", "Company domain name"),
        _definition("companies", "website", "Website URL"),
        _definition("companies", "phone", "Phone number", field_type="phonenumber"),
        _definition("companies", "city", "City"),
        _definition("companies", "country", "Country/Region"),
        _definition("companies", "industry", "Industry"),
        _definition("companies", "numberofemployees", "Number of employees", "number", "number"),
        _definition("companies", "annualrevenue", "Annual revenue", "number", "number"),
        _definition("companies", "description", "Description", field_type="textarea"),
        _definition("companies", "lifecyclestage", "Lifecycle stage", "enumeration", "radio",
                    options=_LIFECYCLE),
    ]
    deals = _common("deals", "hs_lastmodifieddate") + [
        _definition("deals", "dealname", "Deal name"),
        _definition("deals", "pipeline", "Pipeline", "enumeration", "select",
                    options=pipelines.pipeline_options()),
        _definition("deals", "dealstage", "Deal stage", "enumeration", "radio",
                    options=pipelines.stage_options()),
        _definition("deals", "amount", "Amount", "number", "number"),
        _definition("deals", "closedate", "Close date", "datetime", "date"),
        _definition("deals", "dealtype", "Deal type", "enumeration", "radio", options=[
            _option("newbusiness", "New business", 0), _option("existingbusiness", "Existing business", 1)]),
        _definition("deals", "description", "Deal description", field_type="textarea"),
        _definition("deals", "hs_is_closed", "Is deal closed?", "bool", "booleancheckbox",
                    read_only=True, calculated=True),
        _definition("deals", "hs_is_closed_won", "Is closed won", "bool", "booleancheckbox",
                    read_only=True, calculated=True),
        _definition("deals", "hs_deal_stage_probability", "Deal probability", "number", "number",
                    read_only=True, calculated=True),
    ]
    return {t: {d["name"]: d for d in defs}
            for t, defs in (("contacts", contacts), ("companies", companies), ("deals", deals))}


BUILTIN = _builtins()


def definitions(session: Session, object_type: str) -> dict[str, dict]:
    """Built-in and custom properties of a type, cached for the request."""
    cache = g.setdefault("hubspot_property_cache", {})
    if object_type not in cache:
        defs = dict(BUILTIN[object_type])
        rows = session.execute(sa.select(store.hs_properties.c.definition).where(
            store.hs_properties.c.object_type == object_type,
            store.hs_properties.c.archived.is_(False)))
        for (text,) in rows:
            definition = json.loads(text)
            defs[definition["name"]] = definition
        cache[object_type] = defs
    return cache[object_type]


def unique_names(object_type: str, defs: dict[str, dict]) -> set[str]:
    """Properties that identify one record: `email` for contacts and every hasUniqueValue one."""
    names = {name for name, d in defs.items() if d.get("hasUniqueValue")}
    if object_type == "contacts":
        names.add("email")
    return names


def create(session: Session, object_type: str, body: dict) -> dict:
    """Create a custom property. Raises HubSpotError on a bad definition or an existing name."""
    missing = [f for f in ("name", "label", "type", "fieldType", "groupName") if not body.get(f)]
    if missing:
        raise errors.validation(f"Missing required fields: {missing}", [
            {"message": f"{f} is required", "code": "REQUIRED_FIELD", "context": {"field": [f]}}
            for f in missing])
    name = str(body["name"])
    if not _NAME.match(name):
        raise errors.validation(f"Property name {name!r} is invalid: use lowercase letters, digits and _")
    if body["type"] not in TYPES:
        raise errors.validation(f"Invalid property type {body['type']!r}; one of {list(TYPES)}")
    if body["fieldType"] not in FIELD_TYPES:
        raise errors.validation(f"Invalid fieldType {body['fieldType']!r}; one of {list(FIELD_TYPES)}")
    defs = definitions(session, object_type)
    if name in defs:
        raise errors.HubSpotError(409, f"Property named '{name}' already exists.", "OBJECT_ALREADY_EXISTS")
    unique = bool(body.get("hasUniqueValue", False))
    if unique and len([d for d in defs.values() if d.get("hasUniqueValue")]) >= MAX_UNIQUE_PER_OBJECT:
        raise errors.validation(f"An object can have at most {MAX_UNIQUE_PER_OBJECT} unique value properties")
    options = [dict({"description": "", "hidden": False, "displayOrder": i}, **o)
               for i, o in enumerate(body.get("options") or [])]
    if body["type"] == "enumeration" and body["fieldType"] != "booleancheckbox" and not options:
        raise errors.validation("Enumeration properties need at least one option")
    now = clock.hubspot_iso(clock.now_ms())
    definition = _definition(object_type, name, str(body["label"]), body["type"], body["fieldType"],
                             options=options, unique=unique, hubspot_defined=False,
                             description=str(body.get("description") or ""),
                             group=str(body["groupName"]))
    definition.update(createdAt=now, updatedAt=now, displayOrder=int(body.get("displayOrder", -1)),
                      hidden=bool(body.get("hidden", False)),
                      formField=bool(body.get("formField", True)))
    session.execute(sa.delete(store.hs_properties).where(
        store.hs_properties.c.object_type == object_type, store.hs_properties.c.name == name))
    session.execute(sa.insert(store.hs_properties).values(
        object_type=object_type, name=name, definition=json.dumps(definition), archived=False))
    g.pop("hubspot_property_cache", None)
    return definition


def update(session: Session, object_type: str, name: str, body: dict) -> dict:
    """Change a custom property's label, description, group or options; hasUniqueValue is fixed."""
    definition = get(session, object_type, name)
    if definition["hubspotDefined"]:
        raise errors.validation(f"Property {name} is HubSpot-defined and cannot be changed")
    if "hasUniqueValue" in body and bool(body["hasUniqueValue"]) != definition["hasUniqueValue"]:
        raise errors.validation("hasUniqueValue can't be changed once set")
    for key in ("label", "description", "groupName", "hidden", "displayOrder", "formField", "fieldType"):
        if key in body:
            definition[key] = body[key]
    if "options" in body:
        definition["options"] = [dict({"description": "", "hidden": False, "displayOrder": i}, **o)
                                 for i, o in enumerate(body["options"] or [])]
    definition["updatedAt"] = clock.hubspot_iso(clock.now_ms())
    session.execute(sa.update(store.hs_properties).where(
        store.hs_properties.c.object_type == object_type, store.hs_properties.c.name == name,
    ).values(definition=json.dumps(definition)))
    g.pop("hubspot_property_cache", None)
    return definition


def archive(session: Session, object_type: str, name: str) -> None:
    definition = get(session, object_type, name)
    if definition["hubspotDefined"]:
        raise errors.validation(f"Property {name} is HubSpot-defined and cannot be archived")
    session.execute(sa.update(store.hs_properties).where(
        store.hs_properties.c.object_type == object_type, store.hs_properties.c.name == name,
    ).values(archived=True))
    g.pop("hubspot_property_cache", None)


def get(session: Session, object_type: str, name: str) -> dict:
    definition = definitions(session, object_type).get(name)
    if definition is None:
        raise errors.not_found(f"Property {name} does not exist")
    return definition


def groups(object_type: str) -> list[dict]:
    name = GROUPS[object_type]
    return [{"name": name, "label": name.replace("information", " information").capitalize(),
             "displayOrder": 0, "archived": False}]


def normalize(defs: dict[str, dict], values: dict, *, system: bool = False) -> tuple[dict, list[dict]]:
    """Check and normalize written values → (clean values, problems).

    A clean value of None means "clear the property" (HubSpot clears on an empty string).
    `system` lets the sandbox set calculated properties itself.
    """
    clean: dict = {}
    problems: list[dict] = []
    if not isinstance(values, dict):
        return clean, [{"name": "properties", "code": "INVALID_INPUT",
                        "message": "properties must be an object of name to string value"}]
    for name, raw in values.items():
        definition = defs.get(name)
        if definition is None:
            problems.append({"name": name, "code": "PROPERTY_DOESNT_EXIST",
                             "message": f'Property "{name}" does not exist'})
            continue
        if definition["modificationMetadata"]["readOnlyValue"] and not system:
            problems.append({"name": name, "code": "READ_ONLY_VALUE",
                             "message": f'"{name}" is a read only property; its value cannot be set.'})
            continue
        value, problem = _normalize_value(definition, raw)
        if problem:
            problems.append({"name": name, "code": problem[0], "message": problem[1]})
        else:
            clean[name] = value
    return clean, problems


def _normalize_value(definition: dict, raw) -> tuple[str | None, tuple[str, str] | None]:
    if raw is None:
        return None, None
    if isinstance(raw, bool):
        text = "true" if raw else "false"
    elif isinstance(raw, (int, float)):
        text = repr(raw) if isinstance(raw, float) else str(raw)
    elif isinstance(raw, str):
        text = raw
    else:
        return None, ("INVALID_INPUT", f"{definition['name']} must be a string")
    if text == "":
        return None, None
    name, type_ = definition["name"], definition["type"]
    if type_ == "number":
        try:
            float(text)
        except ValueError:
            return None, ("INVALID_INTEGER", f"{text} was not a valid number")
        return text, None
    if type_ == "bool":
        if text.lower() not in ("true", "false"):
            return None, ("INVALID_BOOLEAN", f"{text} was not a valid boolean")
        return text.lower(), None
    if type_ in ("datetime", "date"):
        ms = clock.parse_datetime_ms(text)
        if ms is None:
            return None, ("INVALID_DATE", f"{text} was not a valid date")
        return (clock.hubspot_iso(ms) if type_ == "datetime" else clock.hubspot_iso(ms)[:10]), None
    if type_ == "enumeration" and definition["options"] and name != "hubspot_owner_id":
        allowed = {o["value"] for o in definition["options"]}
        chosen = text.split(";") if definition["fieldType"] == "checkbox" else [text]
        bad = [c for c in chosen if c not in allowed]
        if bad:
            return None, ("INVALID_OPTION",
                          f"{bad[0]} was not one of the allowed options: {sorted(allowed)}")
        return text, None
    if name == "email":
        if not _EMAIL.match(text):
            return None, ("INVALID_EMAIL", f"Email address {text} is invalid")
        # HubSpot keeps contact emails in lower case; uniqueness is case-insensitive.
        return text.strip().lower(), None
    if len(text) > 65_536:
        return None, ("INVALID_STRING", f"{name} is longer than 65536 characters")
    return text, None


def numeric(defs: dict[str, dict], name: str) -> bool:
    definition = defs.get(name)
    return bool(definition) and definition["type"] in ("number", "datetime", "date")


def number_value(definition: dict | None, value: str) -> float | None:
    """The sortable number of a stored value: the number itself, or ms since epoch for dates."""
    if not definition or value is None:
        return None
    if definition["type"] == "number":
        try:
            return float(value)
        except ValueError:
            return None
    if definition["type"] in ("datetime", "date"):
        ms = clock.parse_datetime_ms(value)
        return float(ms) if ms is not None else None
    return None
