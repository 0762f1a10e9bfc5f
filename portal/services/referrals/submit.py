"""Submitting a referral: from the partner's form, and (same function) from a public referral link."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import bindparam

from portal import domains, money
from portal.errors import DomainError
from portal.extensions import db
from portal.models import Organization, Referral, Source, Stage, User
from portal.models.types import utcnow
from portal.services import custom_fields, notifications, settings, statuses
from portal.services.referrals import workflow

@dataclass
class ReferralInput:
    contact_first_name: str = ""
    contact_last_name: str = ""
    contact_email: str | None = None
    contact_phone: str | None = None
    contact_title: str | None = None
    company_name: str = ""
    company_domain: str | None = None
    company_country: str | None = None
    company_size: str | None = None
    notes: str | None = None
    estimated_value: Decimal | None = None
    currency: str = "USD"
    consent: bool = False
    custom: dict = field(default_factory=dict)


@dataclass
class SubmitResult:
    referral: Referral
    possible_duplicate: bool


def submit(data: ReferralInput, *, partner_org: Organization, by: User | None, source: str = Source.PORTAL.value,
           actor_label: str | None = None, before_commit=None, origin: dict | None = None,
           announce: bool = True) -> SubmitResult:
    """Create a referral for `partner_org`, check for duplicates, notify the vendor.

    Raises DomainError (with the field) for a missing required field or missing consent, and
    DuplicateReferral when the admins' policy blocks possible duplicates. `before_commit(referral)`
    lets a caller (the public link flow) add its own rows to the same transaction, last before the commit;
    `origin` holds columns it sets on the new referral (its link and attribution), stored with its first insert.
    `announce=False`: the caller tells the vendor itself (the link flow does, from the worker).
    """
    if not partner_org.is_active or partner_org.is_vendor:
        raise DomainError("Referrals can only be submitted for an active partner.")
    cleaned = _clean(data)
    _check_required(cleaned)
    if not cleaned.consent:
        raise DomainError("Confirm that the customer agreed to be contacted.", field="consent")
    # A prospect is asked the public fields only, a partner the partners' ones; a CRM is asked nothing.
    audience = {Source.LINK.value: "public", Source.CRM.value: None}.get(source, "partners")
    custom = custom_fields.clean_values(cleaned.custom, audience=audience)

    possible_duplicate = has_duplicates(cleaned.contact_email, cleaned.company_domain)
    policy = settings.get("duplicates")["policy"]
    if possible_duplicate and policy == "block":
        raise DomainError("This company may already be known to us, so the referral cannot be submitted. "
                          "Please contact your partner manager.", field="company_name")

    statuses.ensure_builtin()
    referral = Referral(
        partner_org=partner_org, submitted_by=by, source=source,
        **{f.name: getattr(cleaned, f.name) for f in fields(ReferralInput) if f.name != "custom"},
        custom_fields=custom, status=Stage.SUBMITTED.value, stage=Stage.SUBMITTED.value,
        duplicate_flag=possible_duplicate and policy == "flag", **(origin or {}),
    )
    db.session.add(referral)
    db.session.flush()
    referral.number = f"R-{referral.id:06d}"
    workflow.record_creation(referral, by=by, actor_label=actor_label)
    if announce:
        notifications.referral_submitted(referral)
    if before_commit is not None:
        before_commit(referral)
    db.session.commit()
    return SubmitResult(referral, possible_duplicate=possible_duplicate)


def duplicate_candidates(email: str | None, domain: str | None, *, exclude_id: int | None = None) -> list[Referral]:
    """Referrals in the duplicate window with the same contact email or company domain."""
    match = _duplicate_match(email, domain)
    if match is None:
        return []
    condition, params = match
    query = db.select(Referral).where(condition).order_by(Referral.created_at.desc()).limit(20)
    if exclude_id:
        query = query.where(Referral.id != exclude_id)
    return list(db.session.scalars(query, params))


def has_duplicates(email: str | None, domain: str | None) -> bool:
    """Whether `duplicate_candidates` would find any (a submission needs no more: one id, no rows loaded)."""
    match = _duplicate_match(email, domain)
    if match is None:
        return False
    condition, params = match
    return db.session.scalar(_any_duplicate(condition), params) is not None


def _duplicate_match(email: str | None, domain: str | None):
    """(the condition, its parameters) of "a possible duplicate", or None when there is nothing to match on."""
    by_email, by_domain = bool(email), domains.is_company_domain(domain)
    if not (by_email or by_domain):
        return None
    since = utcnow() - timedelta(days=settings.get("duplicates")["window_days"])
    return _duplicate_condition(by_email, by_domain), {"email": (email or "").lower(), "domain": domain,
                                                       "since": since}


# Built once per shape (email, domain or both): every submission asks, and building the statement
# cost more than running it.
@lru_cache(maxsize=None)
def _duplicate_condition(by_email: bool, by_domain: bool):
    conditions = []
    if by_email:
        conditions.append(Referral.contact_email == bindparam("email"))
    if by_domain:
        conditions.append(Referral.company_domain == bindparam("domain"))
    return db.and_(db.or_(*conditions), Referral.created_at >= bindparam("since"))


@lru_cache(maxsize=None)
def _any_duplicate(condition):
    return db.select(Referral.id).where(condition).limit(1)


def _clean(data: ReferralInput) -> ReferralInput:
    def text(value, limit):
        value = (value or "").strip()
        return value[:limit] or None

    email = (data.contact_email or "").strip().lower() or None
    domain = domains.normalize(data.company_domain) or domains.of_email(email)
    currency = (data.currency or "USD").upper()
    if currency not in money.CURRENCIES:
        raise DomainError("Choose a currency from the list.", field="currency")
    value = data.estimated_value
    if value is not None:
        if value < 0:
            raise DomainError("The value cannot be negative.", field="estimated_value")
        value = money.quantize(value, currency)
    return ReferralInput(
        contact_first_name=text(data.contact_first_name, 100) or "",
        contact_last_name=text(data.contact_last_name, 100) or "",
        contact_email=email, contact_phone=text(data.contact_phone, 40), contact_title=text(data.contact_title, 120),
        company_name=text(data.company_name, 200) or "", company_domain=domain,
        company_country=(text(data.company_country, 2) or "").upper() or None,
        company_size=text(data.company_size, 20), notes=text(data.notes, 5000), estimated_value=value,
        currency=currency, consent=bool(data.consent), custom=dict(data.custom or {}),
    )


def _check_required(data: ReferralInput) -> None:
    for name, choice in settings.form_fields().items():
        if choice["shown"] and choice["required"] and getattr(data, name) in (None, ""):
            raise DomainError("This field is required.", field=name)
