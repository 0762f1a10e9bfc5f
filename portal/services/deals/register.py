"""Registering a deal: by the reseller itself, from an accepted lead, or by a distributor on a partner's behalf.

The conflict check runs on submit: open registrations and open referrals for the same end customer
(company domain, never a free-mail one; or the contact's email). The admins' policy blocks, flags
or allows; a blocked partner is told so without a word about whose the other record is.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from portal import domains, money
from portal.errors import DomainError
from portal.extensions import db
from portal.models import (DealRegistration, DealStatus, DistributorAssignment, Lead, LeadStatus, Organization,
                           OrgKind, Referral, User)
from portal.models.deals import OPEN_DEAL_STATUSES
from portal.services import crm, custom_fields, notifications, settings, statuses
from portal.services.deals import closed_loop, workflow

REGISTERING_KINDS = (OrgKind.PARTNER.value, OrgKind.DISTRIBUTOR.value)
BLOCKED_MESSAGE = ("This customer is already registered or referred, so this registration cannot be submitted. "
                   "Please contact your partner manager.")


@dataclass
class DealInput:
    customer_company: str = ""
    customer_domain: str | None = None
    customer_country: str | None = None
    contact_name: str = ""
    contact_email: str | None = None
    contact_phone: str | None = None
    contact_title: str | None = None
    products: str | None = None
    amount: Decimal | None = None
    currency: str = "USD"
    expected_close: date | None = None
    custom: dict = field(default_factory=dict)


@dataclass
class Conflicts:
    deals: list[DealRegistration]
    referrals: list[Referral]

    def __bool__(self) -> bool:
        return bool(self.deals or self.referrals)


def register(data: DealInput, *, by: User, partner_org_id: int | None = None, owner_id: int | None = None,
             distributor_id: int | None = None, hidden_from_distributor: bool = False,
             lead: Lead | None = None) -> DealRegistration:
    """Submit a deal registration and notify the vendor (and the distributor it names).

    `by` registers for its own organization, or (a distributor's user) for the partner `partner_org_id`,
    naming that partner's user `owner_id`. `distributor_id`: the distributor the partner buys through,
    among those the settings allow. `lead`: an accepted lead of the partner, which becomes converted.
    Raises DomainError (with the field) for missing or unfit input, and when the conflict policy blocks.
    """
    on_behalf = bool(partner_org_id) and partner_org_id != by.organization_id
    if on_behalf:
        partner_org, owner = _check_on_behalf(by, partner_org_id, owner_id)
        distributor, hidden_from_distributor = by.organization, False
    else:
        partner_org, owner = by.organization, by
        distributor = _check_distributor(partner_org, distributor_id)
        if hidden_from_distributor and not (distributor and settings.get("distribution")["allow_hide"]):
            hidden_from_distributor = False
    if partner_org.kind not in REGISTERING_KINDS or not partner_org.is_active:
        raise DomainError("Deals can be registered by active partners and distributors only.")
    cleaned = _clean(data)
    custom = custom_fields.clean_values(cleaned.custom, scope="deal")
    if lead is not None:
        _check_lead(lead, partner_org)

    referral = lead.referral if lead is not None else None
    found = conflicts(cleaned.contact_email, cleaned.customer_domain,
                      exclude_referral_id=referral.id if referral else None, exclude_org_id=partner_org.id)
    policy = settings.get("deals")["conflict_policy"]
    if found and policy == "block":
        raise DomainError(BLOCKED_MESSAGE, field="customer_domain")

    deal = DealRegistration(
        partner_org=partner_org, owner=owner, registered_by=by, distributor_org=distributor,
        hidden_from_distributor=bool(hidden_from_distributor), lead=lead, referral=referral,
        customer_company=cleaned.customer_company, customer_domain=cleaned.customer_domain,
        customer_country=cleaned.customer_country, contact_name=cleaned.contact_name,
        contact_email=cleaned.contact_email, contact_phone=cleaned.contact_phone, contact_title=cleaned.contact_title,
        products=cleaned.products, amount=cleaned.amount, currency=cleaned.currency,
        expected_close=cleaned.expected_close, custom_fields=custom, status=DealStatus.SUBMITTED.value,
        conflict_flag=bool(found) and policy == "flag")
    db.session.add(deal)
    db.session.flush()
    deal.number = f"D-{deal.id:06d}"
    workflow.record_creation(deal, by=by, reason=f"Registered by {by.organization.name} for {partner_org.name}"
                             if on_behalf else None)
    if lead is not None:
        closed_loop.lead_converted(lead, deal, by=by)
    notifications.deal_to_vendor("deal_submitted", deal,
                                 subject=f"New deal registration {deal.number}: {deal.customer_company} from "
                                         f"{partner_org.name}",
                                 headline=f"{partner_org.name} registered a deal for {deal.customer_company}.")
    notifications.deal_to_distributor(deal)
    if on_behalf:
        notifications.deal_owner_assigned(deal)
    crm.deal_event(deal, "created")
    db.session.commit()
    return deal


def conflicts(email: str | None, domain: str | None, *, exclude_deal_id: int | None = None,
              exclude_referral_id: int | None = None, exclude_org_id: int | None = None) -> Conflicts:
    """Other partners' open registrations and open referrals for the same customer (domain or contact email)."""
    deal_match, referral_match = [], []
    if email:
        deal_match.append(DealRegistration.contact_email == email.lower())
        referral_match.append(Referral.contact_email == email.lower())
    if domains.is_company_domain(domain):
        deal_match.append(DealRegistration.customer_domain == domain)
        referral_match.append(Referral.company_domain == domain)
    if not deal_match:
        return Conflicts([], [])
    deal_query = (db.select(DealRegistration).where(db.or_(*deal_match), DealRegistration.status.in_(OPEN_DEAL_STATUSES))
                  .order_by(DealRegistration.created_at.desc()).limit(20))
    referral_query = (db.select(Referral).where(db.or_(*referral_match),
                                                Referral.stage.in_([s.value for s in statuses.OPEN_STAGES]))
                      .order_by(Referral.created_at.desc()).limit(20))
    if exclude_deal_id:
        deal_query = deal_query.where(DealRegistration.id != exclude_deal_id)
    if exclude_referral_id:
        referral_query = referral_query.where(Referral.id != exclude_referral_id)
    if exclude_org_id:
        deal_query = deal_query.where(DealRegistration.partner_org_id != exclude_org_id)
        referral_query = referral_query.where(Referral.partner_org_id != exclude_org_id)
    return Conflicts(list(db.session.scalars(deal_query)), list(db.session.scalars(referral_query)))


def distributor_choices(partner_org: Organization) -> list[Organization]:
    """The distributors `partner_org` may name on a registration (none while distribution is off)."""
    config = settings.get("distribution")
    if not config["enabled"]:
        return []
    query = db.select(Organization).where(Organization.kind == OrgKind.DISTRIBUTOR.value,
                                          Organization.status == "active", Organization.id != partner_org.id)
    if config["choice"] == "assigned":
        query = query.where(Organization.id.in_(db.select(DistributorAssignment.distributor_org_id).where(
            DistributorAssignment.partner_org_id == partner_org.id)))
    return list(db.session.scalars(query.order_by(Organization.name)))


def on_behalf_partners(user: User) -> list[Organization]:
    """The partners a distributor's user may register deals for (none unless the admins allow it)."""
    mode = settings.get("distribution")
    if not mode["enabled"] or mode["on_behalf"] == "off" or user.organization.kind != OrgKind.DISTRIBUTOR.value:
        return []
    query = db.select(Organization).where(Organization.kind == OrgKind.PARTNER.value, Organization.status == "active")
    if mode["on_behalf"] == "assigned":
        query = query.where(Organization.id.in_(db.select(DistributorAssignment.partner_org_id).where(
            DistributorAssignment.distributor_org_id == user.organization_id)))
    return list(db.session.scalars(query.order_by(Organization.name)))


def _check_on_behalf(by: User, partner_org_id: int, owner_id: int | None) -> tuple[Organization, User]:
    partner_org = next((p for p in on_behalf_partners(by) if p.id == partner_org_id), None)
    if partner_org is None:
        raise DomainError("You cannot register deals for this partner.", field="partner_org_id")
    owner = next((u for u in partner_org.users if u.id == owner_id and u.is_active), None)
    if owner is None:
        raise DomainError(f"Choose the user of {partner_org.name} who owns the deal.", field="owner_id")
    return partner_org, owner


def _check_distributor(partner_org: Organization, distributor_id: int | None) -> Organization | None:
    config = settings.get("distribution")
    if not config["enabled"]:
        return None
    if not distributor_id:
        if config["required"]:
            raise DomainError("Choose the distributor you buy through.", field="distributor_id")
        return None
    distributor = next((d for d in distributor_choices(partner_org) if d.id == distributor_id), None)
    if distributor is None:
        raise DomainError("Choose one of the distributors in the list.", field="distributor_id")
    return distributor


def _check_lead(lead: Lead, partner_org: Organization) -> None:
    if lead.assigned_org_id != partner_org.id:
        raise DomainError("This lead was not assigned to your organization.")
    if lead.status != LeadStatus.ACCEPTED.value:
        raise DomainError("Only an accepted lead can become a deal registration.")


def _clean(data: DealInput) -> DealInput:
    def text(value, limit):
        return (value or "").strip()[:limit] or None

    email = (data.contact_email or "").strip().lower() or None
    domain = domains.normalize(data.customer_domain) or domains.of_email(email)
    currency = (data.currency or "USD").upper()
    if currency not in money.CURRENCIES:
        raise DomainError("Choose a currency from the list.", field="currency")
    if not text(data.customer_company, 200):
        raise DomainError("Name the end customer's company.", field="customer_company")
    if not text(data.contact_name, 200):
        raise DomainError("Name the customer's contact.", field="contact_name")
    if data.amount is None or data.amount <= 0:
        raise DomainError("Enter the deal's amount.", field="amount")
    return DealInput(
        customer_company=text(data.customer_company, 200), customer_domain=domain,
        customer_country=(text(data.customer_country, 2) or "").upper() or None,
        contact_name=text(data.contact_name, 200), contact_email=email, contact_phone=text(data.contact_phone, 40),
        contact_title=text(data.contact_title, 120), products=text(data.products, 5000),
        amount=money.quantize(data.amount, currency), currency=currency, expected_close=data.expected_close,
        custom=dict(data.custom or {}))


def input_from_lead(lead: Lead) -> DealInput:
    """A registration's fields pre-filled from the lead's referral (the partner reviews them before submitting)."""
    referral = lead.referral
    if referral is None:
        return DealInput()
    return DealInput(customer_company=referral.company_name, customer_domain=referral.company_domain,
                     customer_country=referral.company_country, contact_name=referral.contact_name,
                     contact_email=referral.contact_email, contact_phone=referral.contact_phone,
                     contact_title=referral.contact_title, products=referral.notes, amount=referral.estimated_value,
                     currency=referral.currency)
