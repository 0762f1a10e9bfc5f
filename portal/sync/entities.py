"""The records the engine syncs, one entry per entity type (STYLE.md §11): how to load them in bulk,
which portal fields they have, which CRM object they become, and the one service use case that
applies a CRM's change to them.

A referral now; a deal registration, an organization or a user later is one more `register(...)`.
The engine and the connectors see a record only as its `values` (portal field -> value), so no
connector reads a model.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Callable

from flask import current_app, has_app_context
from sqlalchemy.orm import selectinload

from portal import domains
from portal.extensions import db
from portal.models import Referral, ReferralLink
from portal.services.referrals import inbound as referral_inbound
from portal.sync.mapping import CUSTOM_PREFIX, FieldSpec


@dataclass(frozen=True)
class Entity:
    name: str                     # CrmLink.entity_type
    model: type
    crm_object: str               # the portal's word for the CRM object it becomes ("deal")
    fields: dict[str, FieldSpec]  # the portal fields a mapping may name (custom fields come on top)
    values: Callable[[Any], dict]             # every portal field value of one record
    contact_email: Callable[[dict], str | None]   # the person it is about, if any (from its values)
    company_domain: Callable[[dict], str | None]  # the company it is about, if any (from its values)
    apply_change: Callable[..., Any]          # the one inbound use case (commits)
    label: Callable[[Any], str]               # how a person names the record ("R-000012")
    # Through the connection's field mappings and qualification rules (a referral), or translated by
    # the connector itself, which then gives each change's portal fields and status (`Change.fields`).
    mapped: bool = True
    # Linked by the full sync when it has no link yet; False: only what a person or an event sent.
    link_all: bool = True
    # Optional: the ids a connection with these options syncs (default: every record).
    select_ids: Callable[[dict], Any] | None = None
    # Optional: the one inbound use case that makes a record for a CRM record the portal does not know
    # (a flagged Salesforce Account); returns the record, or None when it is not for the portal (commits).
    create_from_crm: Callable[..., Any] | None = None
    # Optional: the connection option naming who wins a field changed on both sides since the last
    # sync ("portal" or the CRM); the conflict is written to the integration log. None: the CRM's change applies.
    master_option: str | None = None
    # What a person can do once the CRM deleted the linked record, for the message that says so
    # ({noun}: the CRM record's name there); None: nothing (organizations are linked by the matching wizard).
    after_deletion: str | None = "\u201cSync now\u201d creates a new {noun}"

    def load(self, ids) -> dict[int, Any]:
        """Records by id, loaded in one query with everything `values` reads."""
        ids = list(ids)
        if not ids:
            return {}
        query = db.select(self.model).where(self.model.id.in_(ids)).options(*_LOAD_OPTIONS.get(self.name, ()))
        return {record.id: record for record in db.session.scalars(query)}

    def all_ids(self, options: dict | None = None):
        """A select of every record's id a connection with these options syncs, for the full sync."""
        if self.select_ids is not None:
            return self.select_ids(options or {})
        return db.select(self.model.id)


ENTITIES: dict[str, Entity] = {}
_LOAD_OPTIONS: dict[str, tuple] = {}


def register(entity: Entity, *load_options) -> Entity:
    ENTITIES[entity.name] = entity
    _LOAD_OPTIONS[entity.name] = load_options
    return entity


def get(name: str) -> Entity:
    return ENTITIES[name]


# ---- referral ------------------------------------------------------------------------------------

REFERRAL_FIELDS: dict[str, FieldSpec] = {
    "deal_name": ("Deal name (company and referral number)", str, False),
    "number": ("Referral number", str, False),
    "status": ("Referral status", str, False),          # pulled through the stage rules, not written
    "estimated_value": ("Estimated value", Decimal, True),
    # What the deal is worth: the won amount once won, else the estimate (a pull writes the estimate).
    "deal_amount": ("Amount (the won amount once won, else the estimated value)", Decimal, True),
    "won_amount": ("Won amount", Decimal, False),
    "close_date": ("Close date (when it was won)", datetime, False),
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
    # Referral Factory's "attach information about the person referring".
    "referrer_name": ("Referrer name (who sent the referral)", str, False),
    "referrer_email": ("Referrer email", str, False),
    "referral_link": ("Referral link (the partner's link it came through)", str, False),
    "referral_campaign": ("Referral link campaign", str, False),
}
REFERRER_FIELDS = ("referrer_name", "referrer_email", "referral_link", "referral_campaign")


def referral_values(referral) -> dict:
    """Every portal field of a referral (duck-typed: the unit tests pass plain objects)."""
    values = {name: getattr(referral, name, None) for name in REFERRAL_FIELDS
              if name not in ("deal_name", "partner_name", "deal_amount", "close_date", *REFERRER_FIELDS)}
    won_amount = getattr(referral, "won_amount", None)
    values["deal_amount"] = won_amount if won_amount is not None else values["estimated_value"]
    values["close_date"] = getattr(referral, "won_at", None)
    values["deal_name"] = (f"{referral.company_name} ({referral.number})" if referral.number
                           else referral.company_name)
    values["partner_name"] = referral.partner_org.name if referral.partner_org is not None else None
    values.update(_referrer(referral))
    for key, value in (referral.custom_fields or {}).items():
        values[CUSTOM_PREFIX + key] = value
    return values


def _referrer(referral) -> dict:
    """Who referred: the partner user who submitted it, else the owner of the link it came through."""
    user = getattr(referral, "submitted_by", None)
    link = getattr(referral, "link", None)
    if user is None and link is not None:
        user = link.user
    name = user.name if user is not None else (link.owner_name if link is not None else None)
    url = None
    if link is not None:
        base = current_app.config.get("PUBLIC_BASE_URL", "") if has_app_context() else ""
        url = f"{base}/r/{link.code}"
    return {"referrer_name": name, "referrer_email": user.email if user is not None else None,
            "referral_link": url, "referral_campaign": link.campaign if link is not None else None}


def _referral_email(values: dict) -> str | None:
    return (values.get("contact_email") or "").strip().lower() or None


def _referral_domain(values: dict) -> str | None:
    domain = values.get("company_domain")
    return domain if domains.is_company_domain(domain) else domains.of_email(_referral_email(values))


REFERRAL = register(Entity(name="referral", model=Referral, crm_object="deal", fields=REFERRAL_FIELDS,
                           values=referral_values, contact_email=_referral_email, company_domain=_referral_domain,
                           apply_change=referral_inbound.apply_crm_change, label=lambda r: r.number or str(r.id)),
                    selectinload(Referral.partner_org), selectinload(Referral.submitted_by),
                    selectinload(Referral.link).selectinload(ReferralLink.user),
                    selectinload(Referral.link).selectinload(ReferralLink.partner_org))


# Other entities register themselves in their own modules (their sync is their own area): deal
# registrations; organizations and their users (organization sync).
from portal.sync import entity_deals  # noqa: E402,F401
from portal.sync import entity_organizations  # noqa: E402,F401
