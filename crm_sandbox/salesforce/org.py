"""The org's configuration (per sandbox process) and its read-only setup records.

Configuration: which of the portal's custom fields and picklist values the org has
(`fields.SchemaOptions`), and how its duplicate rules act on Leads and Contacts with an email
that already exists (`alert`: blocked unless the caller sends `Sforce-Duplicate-Rule-Header:
allowSave=true`, as Salesforce's standard rules with an "Allow + Alert" action answer API callers;
`block`; `off`). Set from the settings at start and on reset, changed by `POST /_admin/org`.

Setup records: RecordType, LeadStatus, User, OpportunityStage and Organization rows, generated from
the schema so SOQL, describe and reference checks see one consistent org.
"""
from __future__ import annotations

from crm_sandbox import clock, runtime
from crm_sandbox.salesforce import fields, ids

DUPLICATE_RULE_MODES = ("alert", "block", "off")
_STARTED_MS = clock.now_ms()


def configure_from_settings(extras: dict, settings: dict) -> None:
    extras["schema"] = fields.SchemaOptions.parse(settings["SANDBOX_SALESFORCE_MISSING_FIELDS"],
                                                  settings["SANDBOX_SALESFORCE_NOT_UNIQUE_FIELDS"])
    extras["duplicate_rules"] = _mode(settings["SANDBOX_SALESFORCE_DUPLICATE_RULES"])
    extras.pop("sessions_not_before_ms", None)
    extras["revoked_sessions"] = set()


def reset() -> None:
    configure_from_settings(runtime.crm("salesforce").extras, runtime.sandbox().settings)


def configure(body: dict) -> dict:
    """Apply `missing`, `not_unique`, `duplicate_rules` (each optional); ValueError on bad input."""
    unknown = set(body) - {"missing", "not_unique", "duplicate_rules"}
    if unknown:
        raise ValueError(f"unknown org settings: {sorted(unknown)}")
    extras = runtime.crm("salesforce").extras
    current = extras.get("schema") or fields.SchemaOptions()
    options = fields.SchemaOptions.parse(body.get("missing", sorted(current.missing)),
                                         body.get("not_unique", sorted(current.not_unique)))
    mode = _mode(body.get("duplicate_rules", extras.get("duplicate_rules", "alert")))
    extras["schema"], extras["duplicate_rules"] = options, mode
    return snapshot()


def snapshot() -> dict:
    extras = runtime.crm("salesforce").extras
    return dict((extras.get("schema") or fields.SchemaOptions()).as_json(),
                duplicate_rules=extras.get("duplicate_rules", "alert"))


def duplicate_rules() -> str:
    return runtime.crm("salesforce").extras.get("duplicate_rules", "alert")


def _mode(value) -> str:
    mode = str(value or "alert").strip().lower()
    if mode not in DUPLICATE_RULE_MODES:
        raise ValueError(f"duplicate_rules must be one of {list(DUPLICATE_RULE_MODES)}")
    return mode


# --- setup records ---------------------------------------------------------------------------

def setup_records(name: str) -> list[dict]:
    """Field dicts of a setup object's rows (RecordType, LeadStatus, User, OpportunityStage, Organization)."""
    stamp = clock.salesforce_datetime(_STARTED_MS)
    schema = fields.schema()
    rows: list[dict] = []
    if name == "RecordType":
        for sobject in schema.values():
            for t in sobject.record_types:
                if t.id == ids.MASTER_RECORD_TYPE:
                    continue  # the Master type is not a RecordType row
                rows.append({"Id": t.id, "Name": t.name, "DeveloperName": t.developer_name,
                             "SobjectType": sobject.name, "Description": None, "IsActive": True})
    elif name == "LeadStatus":
        for order, (value, converted) in enumerate(fields.LEAD_STATUSES, start=1):
            rows.append({"Id": ids.fixed_id("LeadStatus", order), "MasterLabel": value, "ApiName": value,
                         "SortOrder": order, "IsDefault": order == 1, "IsConverted": converted})
    elif name == "User":
        for number, first, last, email, active in fields.USERS:
            rows.append({"Id": ids.fixed_id("User", number), "Username": email, "Name": f"{first} {last}",
                         "FirstName": first, "LastName": last, "Email": email, "IsActive": active})
    elif name == "OpportunityStage":
        for order, (value, probability, closed, won, forecast) in enumerate(fields.OPPORTUNITY_STAGES, start=1):
            rows.append({"Id": ids.fixed_id("OpportunityStage", order), "MasterLabel": value,
                         "ApiName": value, "SortOrder": order, "IsActive": True, "IsClosed": closed,
                         "IsWon": won, "DefaultProbability": float(probability),
                         "ForecastCategoryName": forecast})
    elif name == "Organization":
        rows.append({"Id": ids.ORG_ID, "Name": fields.ORGANIZATION_NAME, "OrganizationType": "Developer Edition",
                     "IsSandbox": True, "InstanceName": "SBX1"})
    for row in rows:
        row["SystemModstamp"] = stamp
    return rows


def user_ids(active_only: bool = False) -> set[str]:
    return {ids.fixed_id("User", n) for n, *_rest, active in fields.USERS if active or not active_only}
