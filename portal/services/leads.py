"""Leads: a referral sent to a reseller, who accepts or declines it by a respond-by date.

The lead-to-deal-registration flow comes with its own issue; here a lead is created, answered,
and expires when not answered in time.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from portal.errors import DomainError, InvalidTransition
from portal.extensions import db
from portal.models import Lead, LeadStatus, Organization, Referral, StatusEvent, User
from portal.models.types import utcnow
from portal.services import notifications, settings

RESELLER_KINDS = ("partner", "distributor")


def create(referral: Referral, *, reseller: Organization, respond_by: datetime | None, by: User | None) -> Lead:
    """Within the caller's transaction: a new lead for `reseller`, its admins notified."""
    if reseller.kind not in RESELLER_KINDS or not reseller.is_active:
        raise DomainError("Choose an active partner or distributor.", field="reseller_id")
    if reseller.id == referral.partner_org_id:
        raise DomainError("The lead cannot go back to the partner who referred it.", field="reseller_id")
    if respond_by is None:
        respond_by = utcnow() + timedelta(days=settings.get("leads")["respond_within_days"])
    if respond_by <= utcnow():
        raise DomainError("The respond-by date must be in the future.", field="respond_by")
    lead = Lead(referral=referral, assigned_org=reseller, respond_by=respond_by, status=LeadStatus.NEW.value)
    db.session.add(lead)
    db.session.flush()
    _record(lead, None, LeadStatus.NEW.value, by=by)
    notifications.lead_assigned(lead)
    return lead


def accept(lead: Lead, *, by: User) -> Lead:
    """The reseller takes the lead."""
    _answer(lead, LeadStatus.ACCEPTED.value, by=by)
    db.session.commit()
    return lead


def decline(lead: Lead, *, by: User, reason: str) -> Lead:
    """The reseller declines the lead; the vendor can send it elsewhere."""
    if not (reason or "").strip():
        raise DomainError("Tell the vendor why.", field="reason")
    lead.decline_reason = reason.strip()[:2000]
    _answer(lead, LeadStatus.DECLINED.value, by=by, reason=lead.decline_reason)
    db.session.commit()
    return lead


def expire_overdue() -> int:
    """Expire new leads past their respond-by date (run by the sweep); returns how many."""
    overdue = list(db.session.scalars(db.select(Lead).where(Lead.status == LeadStatus.NEW.value,
                                                            Lead.respond_by < utcnow())))
    for lead in overdue:
        _record(lead, lead.status, LeadStatus.EXPIRED.value, by=None, label="Respond-by date passed")
        lead.status = LeadStatus.EXPIRED.value
    db.session.commit()
    return len(overdue)


def list_for_org(org: Organization, *, status: str = "", page: int = 1, per_page: int = 25):
    query = db.select(Lead).where(Lead.assigned_org_id == org.id).order_by(Lead.created_at.desc(), Lead.id.desc())
    if status:
        query = query.where(Lead.status == status)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def current_for(referral: Referral) -> Lead | None:
    return db.session.scalar(db.select(Lead).where(Lead.referral_id == referral.id).order_by(Lead.id.desc()))


def _answer(lead: Lead, status: str, *, by: User, reason: str | None = None) -> None:
    if lead.status != LeadStatus.NEW.value:
        raise InvalidTransition(f"This lead is already {lead.status}.")
    if lead.respond_by <= utcnow():
        raise InvalidTransition("The time to answer this lead has passed.")
    _record(lead, lead.status, status, by=by, reason=reason)
    lead.status = status


def _record(lead: Lead, from_status: str | None, to_status: str, *, by: User | None, reason: str | None = None,
            label: str | None = None) -> None:
    db.session.add(StatusEvent(entity_type="lead", entity_id=lead.id, from_status=from_status, to_status=to_status,
                               actor=by, actor_label=label, reason=reason))
