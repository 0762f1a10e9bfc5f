"""Who may see what. Every record a user asks for by id is fetched through here.

Anything outside the user's scope raises NotFound: another partner's record looks like no record.
"""
from __future__ import annotations

from portal.errors import NotFound
from portal.extensions import db
from portal.models import Lead, Organization, Referral, User


def organization_for(user: User, organization_id: int) -> Organization:
    org = db.session.get(Organization, organization_id)
    if org is None or not (user.is_internal or org.id == user.organization_id):
        raise NotFound()
    return org


def managed_user_for(user: User, user_id: int) -> User:
    """A user that `user` may administer: anyone for internal admins, their own org for partner admins."""
    target = db.session.get(User, user_id)
    if target is None:
        raise NotFound()
    if user.is_admin or (user.is_partner_admin and target.organization_id == user.organization_id):
        return target
    raise NotFound()


def visible_referrals(user: User):
    """A select of the referrals `user` may see: all for internal users; for partners their
    organization's (partner users only their own unless their admins share the organization's)."""
    query = db.select(Referral)
    if user.is_internal:
        return query
    query = query.where(Referral.partner_org_id == user.organization_id)
    if not user.is_partner_admin and not user.organization.members_see_all_referrals:
        query = query.where(Referral.submitted_by_id == user.id)
    return query


def referral_for(user: User, referral_id: int) -> Referral:
    referral = db.session.scalar(visible_referrals(user).where(Referral.id == referral_id))
    if referral is None:
        raise NotFound()
    return referral


def lead_for(user: User, lead_id: int) -> Lead:
    """Internal users see every lead; a reseller only the leads assigned to it."""
    lead = db.session.get(Lead, lead_id)
    if lead is None or not (user.is_internal or lead.assigned_org_id == user.organization_id):
        raise NotFound()
    return lead
