"""Who may see what. Every record a user asks for by id is fetched through here.

Anything outside the user's scope raises NotFound: another partner's record looks like no record.
"""
from __future__ import annotations

from portal.errors import NotFound
from portal.extensions import db
from portal.models import (Commission, CommissionPlan, CustomField, DealRegistration, Lead, Organization, Referral,
                           ReferralLink, User)


def organization_for(user: User, organization_id: int) -> Organization:
    org = db.session.get(Organization, organization_id)
    if org is None or not (user.is_internal or org.id == user.organization_id):
        raise NotFound()
    return org


def user_for(user: User, user_id: int) -> User:
    """A user `user` may see: anyone for internal users, their own organization's for partners."""
    target = db.session.get(User, user_id)
    if target is None or not (user.is_internal or target.organization_id == user.organization_id):
        raise NotFound()
    return target


def visible_organizations(user: User):
    """A select of the organizations `user` may see: all for internal users, their own for partners."""
    query = db.select(Organization)
    return query if user.is_internal else query.where(Organization.id == user.organization_id)


def visible_users(user: User):
    """A select of the users `user` may see: all for internal users, their organization's for partners."""
    query = db.select(User)
    return query if user.is_internal else query.where(User.organization_id == user.organization_id)


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
    organization's (partner users only their own, and those that came through their referral
    links, unless their admins share the organization's)."""
    query = db.select(Referral)
    if user.is_internal:
        return query
    query = query.where(Referral.partner_org_id == user.organization_id)
    if not user.is_partner_admin and not user.organization.members_see_all_referrals:
        own_links = db.select(ReferralLink.id).where(ReferralLink.user_id == user.id)
        query = query.where(db.or_(Referral.submitted_by_id == user.id, Referral.link_id.in_(own_links)))
    return query


def referral_for(user: User, referral_id: int) -> Referral:
    referral = db.session.scalar(visible_referrals(user).where(Referral.id == referral_id))
    if referral is None:
        raise NotFound()
    return referral


def referrals_for(user: User, referral_ids: list[int]) -> list[Referral]:
    """Those of `referral_ids` that `user` may see (the others are silently left out), in id order."""
    if not referral_ids:
        return []
    return list(db.session.scalars(visible_referrals(user).where(Referral.id.in_(referral_ids)).order_by(Referral.id)))


def visible_links(user: User):
    """A select of the referral links `user` may see: partner admins their organization's, partner
    users their own. Internal users manage no links."""
    query = db.select(ReferralLink).where(ReferralLink.partner_org_id == user.organization_id)
    if not user.is_partner:
        return query.where(db.false())
    if not user.is_partner_admin:
        query = query.where(ReferralLink.user_id == user.id)
    return query


def link_for(user: User, link_id: int) -> ReferralLink:
    link = db.session.scalar(visible_links(user).where(ReferralLink.id == link_id))
    if link is None:
        raise NotFound()
    return link


def lead_for(user: User, lead_id: int) -> Lead:
    """Internal users see every lead; a reseller only the leads assigned to it."""
    lead = db.session.get(Lead, lead_id)
    if lead is None or not (user.is_internal or lead.assigned_org_id == user.organization_id):
        raise NotFound()
    return lead


def commission_plan_for(user: User, plan_id: int) -> CommissionPlan:
    """Commission plans are the vendor's: internal users see them all, partners none."""
    plan = db.session.get(CommissionPlan, plan_id)
    if plan is None or not user.is_internal:
        raise NotFound()
    return plan


def commission_for(user: User, commission_id: int) -> Commission:
    """Commissions are managed by internal users; partners see theirs on their own pages."""
    commission = db.session.get(Commission, commission_id)
    if commission is None or not user.is_internal:
        raise NotFound()
    return commission


def custom_field_for(user: User, field_id: int) -> CustomField:
    """Custom field definitions are the vendor's to manage: internal users only."""
    field = db.session.get(CustomField, field_id)
    if field is None or not user.is_internal:
        raise NotFound()
    return field


def visible_deals(user: User):
    """A select of the deal registrations `user` may see: all for internal users; for a partner its
    organization's (partner users those they own or registered, unless their admins share the
    organization's); for a distributor also those that name it and do not hide from it."""
    query = db.select(DealRegistration)
    if user.is_internal:
        return query
    own = DealRegistration.partner_org_id == user.organization_id
    if not user.is_partner_admin and not user.organization.members_see_all_referrals:
        own = db.and_(own, db.or_(DealRegistration.owner_id == user.id, DealRegistration.registered_by_id == user.id))
    if user.organization.kind == "distributor":
        named = db.and_(DealRegistration.distributor_org_id == user.organization_id,
                        DealRegistration.hidden_from_distributor.is_(False))
        return query.where(db.or_(own, named))
    return query.where(own)


def deal_for(user: User, deal_id: int) -> DealRegistration:
    deal = db.session.scalar(visible_deals(user).where(DealRegistration.id == deal_id))
    if deal is None:
        raise NotFound()
    return deal


def deals_for(user: User, deal_ids: list[int]) -> list[DealRegistration]:
    """Those of `deal_ids` that `user` may see (the others are silently left out), in id order."""
    if not deal_ids:
        return []
    return list(db.session.scalars(visible_deals(user).where(DealRegistration.id.in_(deal_ids))
                                   .order_by(DealRegistration.id)))


def visible_leads(user: User):
    """A select of the leads `user` may see: all for internal users; a reseller those assigned to it."""
    query = db.select(Lead)
    if user.is_internal:
        return query
    return query.where(Lead.assigned_org_id == user.organization_id)


def visible_commissions(user: User):
    """A select of the commissions `user` may see: internal users all; partners their organization's
    (partner users those on the referrals and deal registrations they may see, unless shared)."""
    query = db.select(Commission)
    if user.is_internal:
        return query
    query = query.where(Commission.partner_org_id == user.organization_id)
    if not user.is_partner_admin and not user.organization.members_see_all_referrals:
        query = query.where(db.or_(
            Commission.referral_id.in_(visible_referrals(user).with_only_columns(Referral.id)),
            Commission.deal_registration_id.in_(visible_deals(user).with_only_columns(DealRegistration.id))))
    return query
