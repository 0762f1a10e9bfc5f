"""Leads: a referral sent to a reseller, who accepts or declines it by a respond-by date.

Here a lead is created, answered, and expires when not answered in time; handing leads out by
rule and what a returned lead does are in lead_distribution.py, converting one in deals/.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from portal.errors import DomainError, InvalidTransition
from portal.extensions import db
from portal.models import Lead, LeadStatus, Organization, Referral, User
from portal.models.types import utcnow
from portal.services import notifications, settings, transitions

RESELLER_KINDS = ("partner", "distributor")
L = LeadStatus
# A lead's moves for the shared transition mechanism (services/transitions.py); DESIGN.md §5.
WORKFLOW = transitions.Workflow(
    entity_type="lead", refusal=lambda from_status, to_status: f"This lead is already {from_status}.",
    moves={L.NEW.value: frozenset({L.ACCEPTED.value, L.DECLINED.value, L.EXPIRED.value}),
           L.ACCEPTED.value: frozenset({L.CONVERTED.value, L.CLOSED.value})})
EXPIRY_ACTOR = "Respond-by date passed"


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
    # A new lead answers the referral's earlier returned ones: they no longer wait for a reseller.
    db.session.execute(db.update(Lead).where(Lead.referral_id == referral.id, Lead.needs_reseller.is_(True))
                       .values(needs_reseller=False))
    lead = Lead(referral=referral, assigned_org=reseller, respond_by=respond_by, status=LeadStatus.NEW.value)
    db.session.add(lead)
    db.session.flush()
    transitions.record_creation(WORKFLOW, lead, by=by)
    notifications.lead_assigned(lead)
    return lead


# Answering a lead is composed by other use cases (converting it to a deal registration, the
# sweep), so each answer has an `apply_*` core that never commits; the public function commits once.

def accept(lead: Lead, *, by: User) -> Lead:
    """The reseller takes the lead. Raises InvalidTransition if it was answered or its time passed."""
    apply_accept(lead, by=by)
    db.session.commit()
    return lead


def apply_accept(lead: Lead, *, by: User) -> None:
    """`accept` within the caller's transaction; never commits."""
    _check_answerable(lead, LeadStatus.ACCEPTED.value)
    transitions.move(WORKFLOW, lead, to=LeadStatus.ACCEPTED.value, by=by)


def decline(lead: Lead, *, by: User, reason: str) -> Lead:
    """The reseller declines the lead; the vendor can send it elsewhere. Raises DomainError without a reason."""
    apply_decline(lead, by=by, reason=reason)
    db.session.commit()
    return lead


def apply_decline(lead: Lead, *, by: User, reason: str) -> None:
    """`decline` within the caller's transaction; never commits."""
    reason = (reason or "").strip()[:2000]
    if not reason:
        raise DomainError("Tell the vendor why.", field="reason")
    _check_answerable(lead, LeadStatus.DECLINED.value)
    transitions.move(WORKFLOW, lead, to=LeadStatus.DECLINED.value, by=by, reason=reason)
    lead.decline_reason = reason


def expire_overdue() -> int:
    """Expire new leads past their respond-by date (run by the sweep); returns how many."""
    overdue = list(db.session.scalars(db.select(Lead).where(Lead.status == LeadStatus.NEW.value,
                                                            Lead.respond_by < utcnow())))
    for lead in overdue:
        apply_expire(lead)
    db.session.commit()
    return len(overdue)


def apply_expire(lead: Lead) -> None:
    """A new lead not answered by its respond-by date expires; never commits. Raises InvalidTransition."""
    if lead.respond_by > utcnow():
        raise InvalidTransition("This lead can still be answered: its respond-by date has not passed.")
    transitions.move(WORKFLOW, lead, to=LeadStatus.EXPIRED.value, by=None, actor_label=EXPIRY_ACTOR)


def list_for_org(org: Organization, *, status: str = "", page: int = 1, per_page: int = 25):
    query = db.select(Lead).where(Lead.assigned_org_id == org.id).order_by(Lead.created_at.desc(), Lead.id.desc())
    if status:
        query = query.where(Lead.status == status)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def current_for(referral: Referral) -> Lead | None:
    return db.session.scalar(db.select(Lead).where(Lead.referral_id == referral.id).order_by(Lead.id.desc()))


def _check_answerable(lead: Lead, answer: str) -> None:
    WORKFLOW.check_record(lead, answer)
    if lead.respond_by <= utcnow():
        raise InvalidTransition("The time to answer this lead has passed.")
