"""The partner program: companies apply on the public page; internal users approve or reject.

An approval creates, in one transaction, the partner organization, its first partner admin (invited
by mail to choose a password) and that admin's personal referral link, so the link is there on their
first sign-in. A rejection creates nothing but the applicant's mail.
"""
from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from portal import domains
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.jobs import mail
from portal.models import (ApplicationStatus, Organization, OrgKind, OrgStatus, PartnerApplication, ReferralLink,
                           Role, User)
from portal.models.types import utcnow
from portal.services import accounts, branding
from portal.services.crm import org_sync

PERSONAL_LINK_CAMPAIGN = "Personal link"


@dataclass
class ApplicationInput:
    company_name: str
    domain: str | None
    country: str | None
    contact_name: str
    contact_email: str
    offering: str


def submit(data: ApplicationInput) -> PartnerApplication:
    """Record a company's application. Raises DomainError (with its field) on bad input."""
    company = (data.company_name or "").strip()
    name = (data.contact_name or "").strip()
    offering = (data.offering or "").strip()
    if not company:
        raise DomainError("Tell us your company's name.", field="company_name")
    if not name:
        raise DomainError("Tell us who we should talk to.", field="contact_name")
    if not offering:
        raise DomainError("Tell us briefly what your company offers.", field="offering")
    try:
        email = validate_email((data.contact_email or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise DomainError("Enter a valid email address, like name@company.com.", field="contact_email") from None
    domain = domains.normalize(data.domain)
    if domain and ("." not in domain or " " in domain):
        raise DomainError("Enter your company's website, like example.com.", field="domain")
    country = (data.country or "").strip().upper() or None
    if country and (len(country) != 2 or not country.isalpha()):
        raise DomainError("Use the two-letter country code, like DE or US.", field="country")
    application = PartnerApplication(company_name=company[:200], domain=domain, country=country,
                                     contact_name=name[:200], contact_email=email, offering=offering[:5000],
                                     status=ApplicationStatus.PENDING.value)
    db.session.add(application)
    db.session.commit()
    return application


def queue(*, status: str = ApplicationStatus.PENDING.value, page: int = 1, per_page: int = 25):
    """Applications with `status`, oldest first (the order they are to be decided in)."""
    query = db.select(PartnerApplication)
    if status in {s.value for s in ApplicationStatus}:
        query = query.where(PartnerApplication.status == status)
    query = query.order_by(PartnerApplication.created_at, PartnerApplication.id)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def pending_count() -> int:
    return db.session.scalar(db.select(db.func.count(PartnerApplication.id)).where(
        PartnerApplication.status == ApplicationStatus.PENDING.value)) or 0


def application_for(user: User, application_id: int) -> PartnerApplication:
    """An application, for internal users only: anyone else gets NotFound."""
    application = db.session.get(PartnerApplication, application_id)
    if application is None or not user.is_internal:
        raise NotFound()
    return application


def approve(application: PartnerApplication, *, by: User) -> Organization:
    """Create the partner organization, invite its first partner admin, make their personal link."""
    _check_pending(application)
    if accounts.find_by_email(application.contact_email):
        raise DomainError(f"A user with the email {application.contact_email} already exists: "
                          "reject this application or change that user's email first.")
    org = Organization(kind=OrgKind.PARTNER.value, name=application.company_name, domain=application.domain,
                       country=application.country, status=OrgStatus.ACTIVE.value, tier="registered")
    db.session.add(org)
    admin = accounts.add_invited(organization=org, email=application.contact_email, name=application.contact_name,
                                 role=Role.PARTNER_ADMIN.value, inviter=by)
    db.session.add(ReferralLink(partner_org_id=org.id, user_id=admin.id, campaign=PERSONAL_LINK_CAMPAIGN,
                                active=True))
    _decide(application, ApplicationStatus.APPROVED, by=by)
    application.organization_id = org.id
    org_sync.mark_organization_dirty(org, with_users=True)
    db.session.commit()
    return org


def reject(application: PartnerApplication, *, by: User, reason: str) -> PartnerApplication:
    """Turn an application down with a reason, which the applicant is mailed."""
    _check_pending(application)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Give the applicant a reason.", field="reason")
    application.rejection_reason = reason[:2000]
    _decide(application, ApplicationStatus.REJECTED, by=by)
    brand = branding.get()
    mail.queue("partner_application_rejected", to=application.contact_email,
               subject=f"Your application to the {brand.vendor_name} partner program",
               template="partner_application_rejected", application=application, brand=brand)
    db.session.commit()
    return application


def _check_pending(application: PartnerApplication) -> None:
    if not application.is_pending:
        raise DomainError(f"This application was already {application.status}.")


def _decide(application: PartnerApplication, status: ApplicationStatus, *, by: User) -> None:
    application.status, application.decided_by_id, application.decided_at = status.value, by.id, utcnow()
