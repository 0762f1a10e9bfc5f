"""The loop from referral to revenue: what a registration's steps do to the lead and referral it came from.

Each function runs inside the registration's use case and never commits, so the registration, its
lead and its referral change together or not at all. The referral moves through its own `apply_*`
cores, the very steps a manual click uses: the same commission, the same mail.
"""
from __future__ import annotations

from portal.extensions import db
from portal.models import DealRegistration, Lead, LeadStatus, Stage, User
from portal.services import leads, notifications, transitions
from portal.services.referrals import review as referral_review

OPEN_REFERRAL_STAGES = (Stage.SUBMITTED.value, Stage.ACCEPTED.value, Stage.SENT_TO_RESELLER.value)


def lead_converted(lead: Lead, deal: DealRegistration, *, by: User) -> None:
    """The accepted lead became `deal`: the lead is converted, the referrer hears the deal was registered."""
    transitions.move(leads.WORKFLOW, lead, to=LeadStatus.CONVERTED.value, by=by,
                     reason=f"Deal registration {deal.number}")
    referral = lead.referral
    if referral is not None:
        notifications.referral_deal(referral, subject=f"A deal was registered for your referral {referral.number}",
                                    headline=f"The reseller registered a deal for {referral.company_name}, "
                                             f"which you referred.")


def referral_won(deal: DealRegistration, *, by: User | None, actor_label: str | None = None) -> None:
    """The registration is won: its referral becomes "Won, payment pending" with the won amount."""
    referral = deal.referral
    if referral is None or referral.stage not in OPEN_REFERRAL_STAGES:
        return  # already won or lost by hand (or from the CRM): its commission exists or must not
    db.session.flush()
    referral_review.apply_won(referral, amount=deal.won_amount, currency=deal.currency, won_at=deal.won_at, by=by,
                              actor_label=actor_label)


def referral_lost(deal: DealRegistration, *, by: User | None, actor_label: str | None = None) -> None:
    """The registration is lost: so is its referral, with the same reason."""
    referral = deal.referral
    if referral is None or referral.stage not in OPEN_REFERRAL_STAGES:
        return
    referral_review.apply_lost(referral, reason=f"The reseller's deal was lost: {deal.lost_reason}", by=by,
                               actor_label=actor_label)
