"""Field mappings: portal values <-> CRM property strings, picklist maps, required mappings.

Pure functions over plain data (no database): the engine and the settings pages both use them,
and the unit tests cover them. HubSpot property values are strings in both directions (FACTS §1.2).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from portal.errors import DomainError

OBJECTS = ("deal", "contact", "company")
DIRECTIONS = ("push", "pull", "both")

# Portal fields a mapping may name: (label, python type, may a pull write it?)
PORTAL_FIELDS: dict[str, tuple[str, type, bool]] = {
    "deal_name": ("Deal name (company and referral number)", str, False),
    "number": ("Referral number", str, False),
    "status": ("Referral status", str, False),          # pulled through the stage rules, not written
    "estimated_value": ("Estimated value", Decimal, True),
    "currency": ("Currency", str, False),
    "notes": ("Notes", str, True),
    "partner_name": ("Partner", str, False),
    "contact_first_name": ("Contact first name", str, True),
    "contact_last_name": ("Contact last name", str, True),
    "contact_email": ("Contact email", str, False),
    "contact_phone": ("Contact phone", str, True),
    "contact_title": ("Contact job title", str, True),
    "company_name": ("Company name", str, True),
    "company_domain": ("Company domain", str, False),
    "company_country": ("Company country", str, True),
    "company_size": ("Company size", str, True),
}
CUSTOM_PREFIX = "custom."

# Each object needs these CRM properties mapped or defaulted before a connection can sync
# (FACTS §1.2: a deal needs dealname, dealstage and pipeline; a contact is found by email).
REQUIRED = {"deal": ("dealname", "pipeline", "dealstage"), "contact": ("email",), "company": ("domain",)}

# HubSpot's default pipeline stages (FACTS §1.7) for the default status map.
DEFAULT_STAGE_MAP = {
    "submitted": "appointmentscheduled",
    "accepted": "qualifiedtobuy",
    "sent_to_reseller": "qualifiedtobuy",
    "won_payment_pending": "closedwon",
    "won_payment_completed": "closedwon",
    "rejected": "closedlost",
    "lost": "closedlost",
}


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


def default_mappings() -> list[Mapping]:
    """What a new HubSpot connection starts with."""
    return [
        Mapping("deal", "dealname", "deal_name"),
        Mapping("deal", "pipeline", None, default_value="default"),
        Mapping("deal", "dealstage", "status", direction="both", value_map=dict(DEFAULT_STAGE_MAP)),
        Mapping("deal", "amount", "estimated_value", direction="both"),
        Mapping("contact", "email", "contact_email"),
        Mapping("contact", "firstname", "contact_first_name"),
        Mapping("contact", "lastname", "contact_last_name"),
        Mapping("contact", "phone", "contact_phone"),
        Mapping("contact", "jobtitle", "contact_title"),
        Mapping("company", "domain", "company_domain"),
        Mapping("company", "name", "company_name"),
    ]


def validate(mappings: list[Mapping], *, custom_keys: set[str] = frozenset()) -> None:
    """Raise DomainError naming the first problem: unknown objects, fields, directions, missing required."""
    for index, m in enumerate(mappings):
        if m.crm_object not in OBJECTS:
            raise MappingError(f"Unknown CRM object {m.crm_object!r}.", field="crm_object", index=index)
        if m.direction not in DIRECTIONS:
            raise MappingError("Direction must be push, pull or both.", field="direction", index=index)
        if not (m.crm_field or "").strip():
            raise MappingError("Choose a CRM property.", field="crm_field", index=index)
        if m.portal_field is None:
            if m.direction != "push" or m.default_value in (None, ""):
                raise MappingError(f"{m.crm_field}: a mapping without a portal field needs a default value "
                                   "and direction push.", field="default_value", index=index)
        elif not _known_field(m.portal_field, custom_keys):
            raise MappingError(f"Unknown portal field {m.portal_field!r}.", field="portal_field", index=index)
        elif m.pulls and not _pull_writable(m.portal_field) and m.portal_field != "status":
            raise MappingError(f"{PORTAL_FIELDS[m.portal_field][0]} cannot be written from the CRM; "
                               "use direction push.", field="direction", index=index)
    pushed = {(m.crm_object, m.crm_field) for m in mappings if m.pushes}
    for crm_object, names in REQUIRED.items():
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


def _known_field(name: str, custom_keys) -> bool:
    if name.startswith(CUSTOM_PREFIX):
        return name[len(CUSTOM_PREFIX):] in custom_keys
    return name in PORTAL_FIELDS


def _pull_writable(name: str) -> bool:
    return name.startswith(CUSTOM_PREFIX) or PORTAL_FIELDS.get(name, ("", str, False))[2]


def portal_value(referral, name: str):
    """The value of portal field `name` on a referral (duck-typed: tests pass plain objects)."""
    if name == "deal_name":
        return f"{referral.company_name} ({referral.number})" if referral.number else referral.company_name
    if name == "partner_name":
        return referral.partner_org.name if referral.partner_org is not None else None
    if name.startswith(CUSTOM_PREFIX):
        return (referral.custom_fields or {}).get(name[len(CUSTOM_PREFIX):])
    return getattr(referral, name, None)


def to_crm(value) -> str | None:
    """A portal value as the string HubSpot wants."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def push_properties(mappings: list[Mapping], crm_object: str, referral) -> dict[str, str]:
    """The CRM properties of one object for one referral; empty values are left out."""
    properties = {}
    for m in mappings:
        if m.crm_object != crm_object or not m.pushes:
            continue
        value = portal_value(referral, m.portal_field) if m.portal_field else None
        value = to_crm(value)
        if value is not None and m.value_map:
            value = m.value_map.get(value, value)
        if value in (None, "") and m.default_value not in (None, ""):
            value = m.default_value
        if value not in (None, ""):
            properties[m.crm_field] = value
    return properties


def pull_values(mappings: list[Mapping], crm_object: str, properties: dict) -> dict:
    """Portal field -> python value for the pulled mappings present in `properties` (status excluded:
    the stage goes through `status_for`)."""
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
        values[m.portal_field] = from_crm(raw, PORTAL_FIELDS.get(m.portal_field, ("", str, True))[1])
    return values


def from_crm(raw, kind: type):
    if raw in (None, ""):
        return None
    if kind is Decimal:
        try:
            return Decimal(str(raw))
        except InvalidOperation:
            return None
    return str(raw)


def status_for(mappings: list[Mapping], crm_value: str | None, current_status: str) -> str | None:
    """The portal status a CRM picklist value (deal stage) maps to, or None when nothing changes.

    Several statuses may share a stage (accepted and sent_to_reseller are both "qualified to buy"):
    if the current status already maps to that stage, the referral stays where it is.
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
