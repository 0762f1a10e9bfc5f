"""Field mappings: portal values <-> CRM property strings, picklist maps, required mappings.

Pure functions over plain data (no database, no provider): which portal fields exist comes from the
entity (`sync/entities.py`), which CRM properties are required from the connector. CRM property
values are strings in both directions (HubSpot's are, for example).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Mapping as ReadMapping

from portal import domains
from portal.errors import DomainError

# The portal's words for the CRM objects a record becomes: a referral's deal, contact and company;
# an organization's account and its users' contacts (organization sync).
REFERRAL_OBJECTS = ("deal", "contact", "company")
OBJECTS = (*REFERRAL_OBJECTS, "account", "partner_contact")
DIRECTIONS = ("push", "pull", "both")
CUSTOM_PREFIX = "custom."

# A portal field: (label, python type, may a pull write it?)
FieldSpec = tuple[str, type, bool]


class DomainName(str):
    """A FieldSpec kind: a website domain, pulled as `domains.normalize` writes it, so a CRM's
    "https://www.northwind.example/" is the portal's "northwind.example" (no change, no conflict)."""


class MappingError(DomainError):
    """A problem with the mappings; `index` is the row it belongs to (None: a required one is missing)."""

    def __init__(self, message: str, field: str | None = None, index: int | None = None):
        super().__init__(message, field)
        self.index = index


@dataclass
class Mapping:
    crm_object: str
    crm_field: str
    portal_field: str | None = None
    direction: str = "push"
    default_value: str | None = None
    value_map: dict = field(default_factory=dict)

    @property
    def pushes(self) -> bool:
        return self.direction in ("push", "both")

    @property
    def pulls(self) -> bool:
        return self.direction in ("pull", "both") and self.portal_field is not None


def of(connection) -> list[Mapping]:
    """A connection's stored mappings (FieldMapping rows) as plain values."""
    return [Mapping(m.crm_object, m.crm_field, m.portal_field, m.direction, m.default_value,
                    dict(m.value_map or {})) for m in connection.mappings]


def validate(mappings: list[Mapping], *, fields: dict[str, FieldSpec], required: dict[str, tuple[str, ...]],
             custom_keys: set[str] = frozenset(), object_fields: dict[str, dict[str, FieldSpec]] | None = None,
             crm_options: dict[tuple[str, str], list[str]] | None = None,
             crm_lengths: dict[tuple[str, str], int] | None = None) -> None:
    """Raise MappingError naming the first problem: unknown objects, fields, directions, missing required.
    `object_fields`: the portal fields of an object whose records are not referrals (an account's are
    an organization's); `crm_options`: (object, CRM field) -> its picklist values, which a value map
    and a default value must use, and `crm_lengths`: (object, CRM field) -> the most characters it
    holds (the live describe; unknown properties are not checked)."""
    for index, m in enumerate(mappings):
        own = (object_fields or {}).get(m.crm_object)
        if own is not None:
            _check_row(index, m, own, frozenset())
            _check_values(index, m, crm_options or {}, crm_lengths or {})
            continue
        if m.crm_object not in OBJECTS:
            raise MappingError(f"Unknown CRM object {m.crm_object!r}.", field="crm_object", index=index)
        # A referral's status is pulled through its stage map (several statuses may share a stage).
        _check_row(index, m, fields, custom_keys, pulled_anyway=("status",))
        _check_values(index, m, crm_options or {}, crm_lengths or {}, distinct=m.portal_field != "status")
    pushed = {(m.crm_object, m.crm_field) for m in mappings if m.pushes}
    present = {m.crm_object for m in mappings}
    for crm_object, names in required.items():
        if crm_object in (object_fields or {}) and crm_object not in present:
            continue  # organization sync's objects are mapped only once it is used
        for name in names:
            if (crm_object, name) not in pushed:
                raise MappingError(f"A {crm_object} needs a mapping for {name!r} (a portal field or a default value).",
                                   field="crm_field")
    seen = set()
    for index, m in enumerate(mappings):
        key = (m.crm_object, m.crm_field)
        if key in seen:
            raise MappingError(f"{m.crm_object} property {m.crm_field!r} is mapped twice.", field="crm_field",
                               index=index)
        seen.add(key)


def _check_row(index: int, m: Mapping, fields, custom_keys, *, pulled_anyway: tuple[str, ...] = ()) -> None:
    if m.direction not in DIRECTIONS:
        raise MappingError("Direction must be push, pull or both.", field="direction", index=index)
    if not (m.crm_field or "").strip():
        raise MappingError("Choose a CRM property.", field="crm_field", index=index)
    if m.portal_field is None:
        if m.direction != "push" or m.default_value in (None, ""):
            raise MappingError(f"{m.crm_field}: a mapping without a portal field needs a default value "
                               "and direction push.", field="default_value", index=index)
    elif not _known_field(m.portal_field, fields, custom_keys):
        raise MappingError(f"Unknown portal field {m.portal_field!r}.", field="portal_field", index=index)
    elif m.pulls and not _pull_writable(m.portal_field, fields) and m.portal_field not in pulled_anyway:
        raise MappingError(f"{fields[m.portal_field][0]} cannot be written from the CRM; "
                           "use direction push.", field="direction", index=index)


def _check_values(index: int, m: Mapping, crm_options, crm_lengths, *, distinct: bool = True) -> None:
    """A picklist value map names values the CRM's picklist has, each CRM value once (so a pull can
    tell which portal value it means; `distinct` false where several portal values may share one, as
    statuses share a stage), and no value is longer than the CRM field holds."""
    longest = crm_lengths.get((m.crm_object, m.crm_field))
    if longest:
        for value, name in [(m.default_value, "default_value"), *((v, "values") for v in m.value_map.values())]:
            if value and len(value) > longest:
                raise MappingError(f"{m.crm_field} holds at most {longest} characters; {value[:40]!r} has "
                                   f"{len(value)}.", field=name, index=index)
    allowed = crm_options.get((m.crm_object, m.crm_field))
    if allowed and m.value_map:
        wrong = [v for v in m.value_map.values() if v not in allowed]
        if wrong:
            raise MappingError(f"{m.crm_field} has no picklist value {wrong[0]!r}; choose one of "
                               f"{', '.join(allowed[:12])}.", field="values", index=index)
    if allowed and m.default_value not in (None, "") and m.default_value not in allowed:
        raise MappingError(f"{m.crm_field} has no picklist value {m.default_value!r}.", field="default_value",
                           index=index)
    if distinct and m.pulls and m.value_map and len(set(m.value_map.values())) < len(m.value_map):
        raise MappingError(f"{m.crm_field}: two portal values map to the same value, so a pull could not tell "
                           "them apart; use direction push or map each to its own value.", field="values",
                           index=index)


def _known_field(name: str, fields, custom_keys) -> bool:
    if name.startswith(CUSTOM_PREFIX):
        return name[len(CUSTOM_PREFIX):] in custom_keys
    return name in fields


def _pull_writable(name: str, fields) -> bool:
    return name.startswith(CUSTOM_PREFIX) or fields.get(name, ("", str, False))[2]


def to_crm(value) -> str | None:
    """A portal value as the string a CRM property takes."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        # Stored with three decimals (for the currencies that have them): 1234.500 goes as "1234.5".
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def push_properties(mappings: list[Mapping], crm_object: str, values: ReadMapping) -> dict[str, str]:
    """The CRM properties of one object for one record (its portal field values); empty values are left out."""
    properties = {}
    for m in mappings:
        if m.crm_object != crm_object or not m.pushes:
            continue
        value = values.get(m.portal_field) if m.portal_field else None
        value = to_crm(value)
        if value is not None and m.value_map:
            value = m.value_map.get(value, value)
        if value in (None, "") and m.default_value not in (None, ""):
            value = m.default_value
        if value not in (None, ""):
            properties[m.crm_field] = value
    return properties


def pull_values(mappings: list[Mapping], crm_object: str, properties: dict,
                fields: dict[str, FieldSpec] | None = None) -> dict:
    """Portal field -> python value for the pulled mappings present in `properties` (status excluded:
    the stage goes through `status_for`)."""
    fields = fields or {}
    values = {}
    for m in mappings:
        if m.crm_object != crm_object or not m.pulls or m.portal_field == "status":
            continue
        if m.crm_field not in properties:
            continue
        raw = properties[m.crm_field]
        if m.value_map:
            reverse = {crm: portal for portal, crm in m.value_map.items()}
            raw = reverse.get(raw, raw)
        values[m.portal_field] = from_crm(raw, fields.get(m.portal_field, ("", str, True))[1])
    return values


def from_crm(raw, kind: type):
    if raw in (None, ""):
        return None
    if kind is DomainName:
        return domains.normalize(str(raw))
    if kind is Decimal:
        try:
            return Decimal(str(raw))
        except InvalidOperation:
            return None
    return str(raw)


def status_for(mappings: list[Mapping], crm_value: str | None, current_status: str) -> str | None:
    """The portal status a CRM picklist value (a deal stage) maps to, or None when nothing changes.

    Several statuses may share a stage (accepted and sent_to_reseller are both "qualified to buy"):
    if the current status already maps to that stage, the record stays where it is.
    """
    if crm_value in (None, ""):
        return None
    for m in mappings:
        if m.portal_field != "status" or not m.pulls:
            continue
        if m.value_map.get(current_status) == crm_value:
            return None
        for status, value in m.value_map.items():
            if value == crm_value:
                return status
    return None


def pulled_crm_fields(mappings: list[Mapping], crm_object: str) -> list[str]:
    return [m.crm_field for m in mappings if m.crm_object == crm_object and m.pulls]
