"""The deal registration as the sync engine sees it (`deal_registration`): its portal fields, the
person and company it is about, and its one inbound use case (`services/deals/inbound.py`).

Its CRM fields are the connector's own (not the mappings page's): a registration becomes whatever
the connector makes of it (Salesforce: a Lead, or an Opportunity on a known Contact's Account), so
the connector translates it both ways (`mapped=False`). Only what a person or a chosen event sent is
linked (`link_all=False`): the hourly full sync refreshes those, it never sends every registration.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import selectinload

from portal import domains
from portal.models import DealRegistration
from portal.services.deals import inbound as deal_inbound
from portal.sync import entities
from portal.sync.mapping import CUSTOM_PREFIX, FieldSpec

NAME = "deal_registration"
CRM_OBJECT = "registration"  # the portal's word for what it becomes (a Lead or an Opportunity)

DEAL_FIELDS: dict[str, FieldSpec] = {
    "number": ("Registration number", str, False),
    "status": ("Registration status", str, False),
    "deal_name": ("Deal name (customer and registration number)", str, False),
    "customer_company": ("Customer company", str, False),
    "customer_domain": ("Customer domain", str, False),
    "customer_country": ("Customer country", str, False),
    "contact_name": ("Contact name", str, False),
    "contact_first_name": ("Contact first name", str, False),
    "contact_last_name": ("Contact last name", str, False),
    "contact_email": ("Contact email", str, False),
    "contact_phone": ("Contact phone", str, False),
    "contact_title": ("Contact job title", str, False),
    "products": ("Products", str, False),
    "amount": ("Amount", Decimal, True),
    "currency": ("Currency", str, False),
    "expected_close": ("Expected close", date, False),
    "partner_name": ("Partner", str, False),
    "referral_number": ("Referral it came from", str, False),
}


def deal_values(deal) -> dict:
    """Every portal field of a registration."""
    first, _, last = (deal.contact_name or "").strip().rpartition(" ")
    values = {name: getattr(deal, name, None) for name in (
        "number", "status", "customer_company", "customer_domain", "customer_country", "contact_name",
        "contact_email", "contact_phone", "contact_title", "products", "amount", "currency", "expected_close")}
    values.update(contact_first_name=first or None, contact_last_name=last or None,
                  deal_name=f"{deal.customer_company} ({deal.number})" if deal.number else deal.customer_company,
                  partner_name=deal.partner_org.name if deal.partner_org is not None else None,
                  referral_number=deal.referral.number if deal.referral is not None else None)
    for key, value in (deal.custom_fields or {}).items():
        values[CUSTOM_PREFIX + key] = value
    return values


def _email(values: dict) -> str | None:
    return (values.get("contact_email") or "").strip().lower() or None


def _domain(values: dict) -> str | None:
    domain = values.get("customer_domain")
    return domain if domains.is_company_domain(domain) else domains.of_email(_email(values))


DEAL_REGISTRATION = entities.register(
    entities.Entity(name=NAME, model=DealRegistration, crm_object=CRM_OBJECT, fields=DEAL_FIELDS, values=deal_values,
                    contact_email=_email, company_domain=_domain, apply_change=deal_inbound.apply_crm_change,
                    label=lambda d: d.number or str(d.id), mapped=False, link_all=False),
    selectinload(DealRegistration.partner_org), selectinload(DealRegistration.referral))
