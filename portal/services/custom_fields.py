"""Admin-defined fields (text, number, date, single select) and their values.

A field belongs to one scope: the referral form, or the deal registration form.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from portal.errors import DomainError
from portal.extensions import db
from portal.models import CustomField
from portal.services import read_cache

KINDS = {"text": "Text", "number": "Number", "date": "Date", "select": "Single select"}
SCOPES = {"referral": "Referrals", "deal": "Deal registrations"}
AUDIENCES = {"internal": "Internal only", "partners": "Partners", "public": "Partners and the public form"}
# Which fields each kind of reader sees: a prospect only public ones, a partner also the partners' ones.
_SEEN_BY = {"public": ("public",), "partners": ("partners", "public"), "internal": tuple(AUDIENCES)}


@dataclass(frozen=True)
class Definition:
    """An active field as forms, filters and pages read it (cached per process: never an ORM row)."""

    id: int
    key: str
    label: str
    kind: str
    options: tuple[str, ...]
    required: bool
    position: int
    scope: str = "referral"
    active: bool = True
    audience: str = "partners"


def active(scope: str = "referral") -> list[Definition]:
    """The fields on the form of `scope` (referrals, deal registrations), in order."""
    return list(read_cache.cached(read_cache.CUSTOM_FIELDS, f"active:{scope}", lambda: _load_active(scope)))


def _load_active(scope: str) -> tuple[Definition, ...]:
    rows = db.session.scalars(db.select(CustomField).where(CustomField.active.is_(True), CustomField.scope == scope)
                              .order_by(CustomField.position, CustomField.id))
    return tuple(Definition(id=f.id, key=f.key, label=f.label, kind=f.kind, options=tuple(f.options or ()),
                            required=bool(f.required), position=f.position, scope=f.scope,
                            audience=f.audience) for f in rows)


def for_audience(audience: str, scope: str = "referral") -> list[Definition]:
    """The active fields of `scope` shown to `audience` ("public", "partners" or "internal"), in form order."""
    return [f for f in active(scope) if f.audience in _SEEN_BY[audience]]


def list_all() -> list[CustomField]:
    """Every field, active ones first, for the admins' settings page."""
    return list(db.session.scalars(db.select(CustomField).order_by(CustomField.active.desc(), CustomField.position,
                                                                   CustomField.id)))


def define(*, label: str, kind: str, options: list[str] | None = None, required: bool = False,
           scope: str = "referral", audience: str = "partners") -> CustomField:
    """Add a custom field to the referral (or deal registration) form of `audience` (see AUDIENCES).
    Raises DomainError for a bad name, type, options, scope or audience."""
    if scope not in SCOPES:
        raise DomainError("Choose referrals or deal registrations.", field="scope")
    label = (label or "").strip()
    if not label:
        raise DomainError("Give the field a name.", field="label")
    if kind not in KINDS:
        raise DomainError("Choose a field type.", field="kind")
    if audience not in AUDIENCES:
        raise DomainError("Choose who is asked this question.", field="audience")
    options = [o.strip() for o in (options or []) if o.strip()]
    if kind == "select" and len(options) < 2:
        raise DomainError("A single select needs at least two options, one per line.", field="options")
    key = ("cf_" if scope == "referral" else "df_") + (re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:30] or "field")
    if db.session.scalar(db.select(CustomField.id).where(CustomField.key == key)):
        raise DomainError("A field with this name exists already.", field="label")
    position = (db.session.scalar(db.select(db.func.max(CustomField.position))) or 0) + 10
    field = CustomField(key=key, label=label[:80], kind=kind, options=options if kind == "select" else [],
                        required=required, audience=audience, position=position, scope=scope)
    db.session.add(field)
    db.session.commit()
    return field


def set_active(field: CustomField, is_active: bool) -> CustomField:
    """Hide a field from new referrals (values already given are kept) or show it again."""
    field.active = is_active
    db.session.commit()
    return field


def clean_values(values: dict, scope: str = "referral", *, audience: str | None = "partners") -> dict:
    """Validate submitted values against the active fields of `scope` that `audience` is asked; returns
    JSON-safe values by key. Values of fields the audience is not asked are dropped; with audience None
    (a CRM creating a referral) every field is taken as given and none is required."""
    cleaned = {}
    for field in for_audience(audience or "internal", scope):
        raw = values.get(field.key)
        if raw in (None, ""):
            if field.required and audience is not None:
                raise DomainError("This field is required.", field=field.key)
            continue
        cleaned[field.key] = _clean_one(field, raw)
    return cleaned


def _clean_one(field: Definition, raw):
    if field.kind == "text":
        return str(raw).strip()[:500]
    if field.kind == "number":
        try:
            return str(Decimal(str(raw)))
        except InvalidOperation as err:
            raise DomainError("Enter a number.", field=field.key) from err
    if field.kind == "date":
        try:
            return (raw if isinstance(raw, date) else date.fromisoformat(str(raw))).isoformat()
        except ValueError as err:
            raise DomainError("Enter a date as YYYY-MM-DD.", field=field.key) from err
    if str(raw) not in field.options:
        raise DomainError("Choose one of the options.", field=field.key)
    return str(raw)
