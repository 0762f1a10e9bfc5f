"""Who may see what. Every record a user asks for by id is fetched through here.

Anything outside the user's scope raises NotFound: another partner's record looks like no record.
"""
from __future__ import annotations

from portal.errors import NotFound
from portal.extensions import db
from portal.models import Organization, User


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
