"""The reportable entities, each a declaration: its access-scoped select and its fields.

The joins a field needs are made once in the entity's base select, through the aliases below, so
every field of one entity refers to the same joined rows.
"""
from __future__ import annotations

from sqlalchemy import Numeric, String, cast, func, select
from sqlalchemy.orm import aliased

from portal import money
from portal.extensions import db
from portal.models import (Commission, CommissionStatus, CustomField, DealRegistration, Lead, LeadStatus,
                           Organization, Referral, ReferralLink, Source, User)
from portal.models.deals import DEAL_STATUS_LABELS
from portal.models.referrals import STAGE_LABELS
from portal.services import access, custom_fields, statuses
from portal.services.reporting.fields import Entity, Field, register

_partner = aliased(Organization, name="rep_partner")
_submitter = aliased(User, name="rep_submitter")
_owner = aliased(User, name="rep_owner")
_link = aliased(ReferralLink, name="rep_link")
_commission = aliased(Commission, name="rep_commission")
_lead_referral = aliased(Referral, name="rep_lead_referral")
_lead_org = aliased(Organization, name="rep_lead_org")
_commission_referral = aliased(Referral, name="rep_commission_referral")
_commission_partner = aliased(Organization, name="rep_commission_partner")
_commission_deal = aliased(DealRegistration, name="rep_commission_deal")
_deal_partner = aliased(Organization, name="rep_deal_partner")
_deal_distributor = aliased(Organization, name="rep_deal_distributor")
_deal_owner = aliased(User, name="rep_deal_owner")
_deal_vendor_owner = aliased(User, name="rep_deal_vendor_owner")


def _status_choices():
    return [(s.key, s.label) for s in statuses.all_statuses()]


def _stage_choices():
    return [(stage.value, label) for stage, label in STAGE_LABELS.items()]


def _currency_choices():
    return [(c, c) for c in money.CURRENCIES]


def _partner_choices():
    return [(str(org_id), name) for org_id, name in db.session.execute(
        select(Organization.id, Organization.name).where(Organization.kind != "vendor").order_by(Organization.name))]


def _custom_field(definition: CustomField) -> Field:
    raw = Referral.custom_fields[definition.key].as_string()
    if definition.kind == "number":
        return Field(definition.key, definition.label, "number", lambda: cast(raw, Numeric(18, 4)))
    if definition.kind == "select":
        options = list(definition.options)
        return Field(definition.key, definition.label, "choice", lambda: raw, choices=lambda: [(o, o) for o in options])
    return Field(definition.key, definition.label, "date" if definition.kind == "date" else "text", lambda: raw)


def _lead_status():
    return (select(Lead.status).where(Lead.referral_id == Referral.id).order_by(Lead.id.desc()).limit(1)
            .correlate(Referral).scalar_subquery())


def _referral_fields() -> list[Field]:
    fields = [
        Field("number", "Referral", "text", lambda: Referral.number),
        Field("created_at", "Submitted", "datetime", lambda: Referral.created_at),
        Field("partner", "Partner", "choice", lambda: cast(Referral.partner_org_id, String), internal=True,
              choices=_partner_choices),
        Field("partner_name", "Partner name", "text", lambda: _partner.name, internal=True),
        Field("company_name", "Company", "text", lambda: Referral.company_name),
        Field("company_domain", "Company website", "text", lambda: Referral.company_domain),
        Field("company_country", "Country", "text", lambda: Referral.company_country),
        Field("company_size", "Company size", "text", lambda: Referral.company_size),
        Field("contact_name", "Contact", "text",
              lambda: func.trim(Referral.contact_first_name + " " + Referral.contact_last_name)),
        Field("contact_email", "Contact email", "text", lambda: Referral.contact_email),
        Field("contact_title", "Job title", "text", lambda: Referral.contact_title),
        Field("status", "Status", "choice", lambda: Referral.status, choices=_status_choices),
        Field("stage", "Stage", "choice", lambda: Referral.stage, choices=_stage_choices),
        Field("source", "Source", "choice", lambda: Referral.source,
              choices=lambda: [(s.value, s.value.capitalize()) for s in Source]),
        Field("link", "Referral link", "text", lambda: _link.campaign),
        Field("submitted_by", "Submitted by", "text", lambda: _submitter.name),
        Field("estimated_value", "Estimated value", "money", lambda: Referral.estimated_value, currency_key="currency"),
        Field("currency", "Currency", "choice", lambda: Referral.currency, choices=_currency_choices),
        Field("won_amount", "Won amount", "money", lambda: Referral.won_amount, currency_key="currency",
              partner_setting="won_amount"),
        Field("won_at", "Won on", "datetime", lambda: Referral.won_at),
        Field("lost_reason", "Lost reason", "text", lambda: Referral.lost_reason, partner_setting="lost_reason"),
        Field("owner", "Owner", "text", lambda: _owner.name, partner_setting="owner"),
        Field("lead_status", "Lead status", "choice", _lead_status, partner_setting="lead_status",
              choices=lambda: [(s.value, s.value.capitalize()) for s in LeadStatus]),
        Field("commission_amount", "Commission", "money", lambda: _commission.amount,
              currency_key="commission_currency"),
        Field("commission_currency", "Commission currency", "choice", lambda: _commission.currency,
              choices=_currency_choices),
        Field("commission_status", "Commission status", "choice", lambda: _commission.status,
              choices=lambda: [(s.value, s.value.capitalize()) for s in CommissionStatus]),
        Field("duplicate_flag", "Possible duplicate", "bool", lambda: Referral.duplicate_flag, internal=True,
              choices=lambda: [("1", "Yes"), ("0", "No")]),
    ]
    return fields + [_custom_field(definition) for definition in custom_fields.list_all()]


def _referral_base(user: User):
    return (access.visible_referrals(user)
            .outerjoin(_partner, _partner.id == Referral.partner_org_id)
            .outerjoin(_submitter, _submitter.id == Referral.submitted_by_id)
            .outerjoin(_owner, _owner.id == Referral.owner_id)
            .outerjoin(_link, _link.id == Referral.link_id)
            .outerjoin(_commission, _commission.referral_id == Referral.id))


register(Entity(
    key="referrals", label="Referrals", base=_referral_base, fields=_referral_fields, id_expr=lambda: Referral.id,
    default_columns=("number", "created_at", "company_name", "contact_name", "status", "estimated_value"),
    default_sort="-created_at",
    detail={"internal": ("internal.referral_detail", "referral_id"),
            "partner": ("partner.referral_detail", "referral_id")},
))


def _lead_fields() -> list[Field]:
    return [
        Field("id", "Lead", "number", lambda: Lead.id),
        Field("created_at", "Sent", "datetime", lambda: Lead.created_at),
        Field("referral", "Referral", "text", lambda: _lead_referral.number),
        Field("company_name", "Company", "text", lambda: _lead_referral.company_name),
        Field("company_country", "Country", "text", lambda: _lead_referral.company_country),
        Field("assigned_org", "Reseller", "text", lambda: _lead_org.name, internal=True),
        Field("status", "Status", "choice", lambda: Lead.status,
              choices=lambda: [(s.value, s.value.capitalize()) for s in LeadStatus]),
        Field("respond_by", "Respond by", "datetime", lambda: Lead.respond_by),
        Field("decline_reason", "Decline reason", "text", lambda: Lead.decline_reason),
        Field("estimated_value", "Estimated value", "money", lambda: _lead_referral.estimated_value,
              currency_key="currency"),
        Field("currency", "Currency", "choice", lambda: _lead_referral.currency, choices=_currency_choices),
    ]


def _lead_base(user: User):
    return (access.visible_leads(user)
            .outerjoin(_lead_referral, _lead_referral.id == Lead.referral_id)
            .outerjoin(_lead_org, _lead_org.id == Lead.assigned_org_id))


register(Entity(
    key="leads", label="Leads", base=_lead_base, fields=_lead_fields, id_expr=lambda: Lead.id,
    default_columns=("id", "created_at", "company_name", "assigned_org", "status", "respond_by"),
    default_sort="-created_at",
    detail={"partner": ("partner.lead_detail", "lead_id")},
))


def _commission_fields() -> list[Field]:
    return [
        Field("id", "Commission", "number", lambda: Commission.id),
        Field("created_at", "Earned", "datetime", lambda: Commission.created_at),
        Field("referral", "Referral", "text", lambda: _commission_referral.number),
        Field("deal", "Deal registration", "text", lambda: _commission_deal.number),
        Field("company_name", "Company", "text",
              lambda: func.coalesce(_commission_referral.company_name, _commission_deal.customer_company)),
        Field("partner", "Partner", "text", lambda: _commission_partner.name, internal=True),
        Field("amount", "Amount", "money", lambda: Commission.amount, currency_key="currency"),
        Field("currency", "Currency", "choice", lambda: Commission.currency, choices=_currency_choices),
        Field("status", "Status", "choice", lambda: Commission.status,
              choices=lambda: [(s.value, s.value.capitalize()) for s in CommissionStatus]),
        Field("paid_at", "Paid", "datetime", lambda: Commission.paid_at),
    ]


def _commission_base(user: User):
    return (access.visible_commissions(user)
            .outerjoin(_commission_referral, _commission_referral.id == Commission.referral_id)
            .outerjoin(_commission_partner, _commission_partner.id == Commission.partner_org_id)
            .outerjoin(_commission_deal, _commission_deal.id == Commission.deal_registration_id))


register(Entity(
    key="commissions", label="Commissions", base=_commission_base, fields=_commission_fields,
    id_expr=lambda: Commission.id,
    default_columns=("referral", "company_name", "partner", "amount", "status", "created_at"),
    default_sort="-created_at",
))



def _deal_fields() -> list[Field]:
    return [
        Field("number", "Deal registration", "text", lambda: DealRegistration.number),
        Field("created_at", "Registered", "datetime", lambda: DealRegistration.created_at),
        Field("partner", "Reseller", "text", lambda: _deal_partner.name),
        Field("distributor", "Distributor", "text", lambda: _deal_distributor.name),
        Field("customer_company", "Customer", "text", lambda: DealRegistration.customer_company),
        Field("customer_domain", "Customer website", "text", lambda: DealRegistration.customer_domain),
        Field("customer_country", "Country", "text", lambda: DealRegistration.customer_country),
        Field("contact_name", "Contact", "text", lambda: DealRegistration.contact_name),
        Field("contact_email", "Contact email", "text", lambda: DealRegistration.contact_email),
        Field("products", "Products", "text", lambda: DealRegistration.products),
        Field("status", "Status", "choice", lambda: DealRegistration.status,
              choices=lambda: [(s.value, label) for s, label in DEAL_STATUS_LABELS.items()]),
        Field("amount", "Amount", "money", lambda: DealRegistration.amount, currency_key="currency"),
        Field("currency", "Currency", "choice", lambda: DealRegistration.currency, choices=_currency_choices),
        Field("expected_close", "Expected close", "day", lambda: DealRegistration.expected_close),
        Field("expires_at", "Protection ends", "datetime", lambda: DealRegistration.expires_at),
        Field("won_amount", "Won amount", "money", lambda: DealRegistration.won_amount, currency_key="currency"),
        Field("won_at", "Won on", "datetime", lambda: DealRegistration.won_at),
        Field("lost_reason", "Lost reason", "text", lambda: DealRegistration.lost_reason),
        Field("owner", "Partner owner", "text", lambda: _deal_owner.name),
        Field("vendor_owner", "Vendor owner", "text", lambda: _deal_vendor_owner.name, internal=True),
        Field("conflict_flag", "Possible conflict", "bool", lambda: DealRegistration.conflict_flag, internal=True,
              choices=lambda: [("1", "Yes"), ("0", "No")]),
    ]


def _deal_base(user: User):
    return (access.visible_deals(user)
            .outerjoin(_deal_partner, _deal_partner.id == DealRegistration.partner_org_id)
            .outerjoin(_deal_distributor, _deal_distributor.id == DealRegistration.distributor_org_id)
            .outerjoin(_deal_owner, _deal_owner.id == DealRegistration.owner_id)
            .outerjoin(_deal_vendor_owner, _deal_vendor_owner.id == DealRegistration.vendor_owner_id))


register(Entity(
    key="deals", label="Deal registrations", base=_deal_base, fields=_deal_fields,
    id_expr=lambda: DealRegistration.id,
    default_columns=("number", "created_at", "partner", "customer_company", "status", "amount", "expected_close"),
    default_sort="-created_at",
    detail={"internal": ("internal.deal_detail", "deal_id"), "partner": ("partner.deal_detail", "deal_id")},
))
