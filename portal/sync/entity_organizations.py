"""Organization sync's records (issue #14): partner and distributor organizations, and their users.

`organization` becomes the CRM's account (a Salesforce Account), `user` a person on it (a Contact
on that Account). Neither syncs for a connection until the matching wizard turns organization sync
on (`options["org_sync"]["enabled"]`, read by the connector's `syncs`); which kinds sync (active
partners, inactive distributors...) is `options["org_sync"]["kinds"]`. The vendor organization and
its (internal) users never sync.

The one way in: `organizations.apply_crm_change` / `accounts.apply_crm_change` for a change to a
linked record, `organizations.create_from_crm` / `accounts.create_from_crm` for a flagged account
(or a person on it) the portal does not know yet. They are reached through lambdas: those services
import the CRM services, which import this package, so they may still be loading when this module
registers the entities.
"""
from __future__ import annotations

from portal.extensions import db
from portal.models import CrmLink, Organization, User
from portal.models.crm import LinkState
from portal.models.accounts import OrgKind, OrgStatus
from portal.services import accounts, organizations
from portal.sync import entities
from portal.sync.mapping import DomainName, FieldSpec

ORG_OBJECT = "account"            # the portal's word for the CRM record an organization becomes
USER_OBJECT = "partner_contact"   # ... and a partner user ("contact" is a referral's person already)
MASTER_OPTION = "org_master"      # "portal" | "salesforce" (the CRM): who wins a field changed on both sides
NAMES = ("organization", "user")   # the entity types organization sync adds, in push order
MANAGED_KINDS = (OrgKind.PARTNER.value, OrgKind.DISTRIBUTOR.value)
# The kind-and-status values of the CRM's partner status picklist, in the portal's words.
PARTNER_STATUSES = ("active_partner", "inactive_partner", "active_distributor", "inactive_distributor")


def settings(options: dict) -> dict:
    """The connection's organization sync settings, as the wizard and the connection page keep them."""
    found = (options or {}).get("org_sync") or {}
    return found if isinstance(found, dict) else {}


def enabled(options: dict) -> bool:
    return bool(settings(options).get("enabled"))


def selected_kinds(options: dict) -> tuple[str, ...]:
    """Which partner statuses sync (all four unless the settings choose)."""
    kinds = settings(options).get("kinds")
    if not isinstance(kinds, (list, tuple)):
        return PARTNER_STATUSES
    return tuple(k for k in kinds if k in PARTNER_STATUSES)


def partner_status(kind: str | None, status: str | None) -> str | None:
    if kind not in MANAGED_KINDS:
        return None
    return f"{'active' if status == OrgStatus.ACTIVE.value else 'inactive'}_{kind}"


def kind_and_status(value: str | None) -> tuple[str, str] | None:
    """"inactive_distributor" -> ("distributor", "inactive"); None for anything else."""
    if value not in PARTNER_STATUSES:
        return None
    state, kind = value.split("_", 1)
    return kind, state


# ---- organization --------------------------------------------------------------------------------

ORG_FIELDS: dict[str, FieldSpec] = {
    "name": ("Organization name", str, True),
    "partner_status": ("Partner status (kind and status: Active Partner...)", str, True),
    "kind": ("Kind (partner or distributor)", str, False),
    "status": ("Status (active or inactive)", str, False),
    "tier": ("Tier", str, True),
    "domain": ("Website domain", DomainName, True),
    "country": ("Country (ISO code)", str, True),
    "portal_id": ("Portal organization id", str, False),
}


def organization_values(org) -> dict:
    return {"name": org.name, "kind": org.kind, "status": org.status, "tier": org.tier, "domain": org.domain,
            "country": org.country, "partner_status": partner_status(org.kind, org.status),
            "portal_id": str(org.id)}


def _organization_ids(options: dict):
    """Partner and distributor organizations of the kinds the connection syncs (never the vendor)."""
    wanted = [kind_and_status(k) for k in selected_kinds(options)]
    conditions = [db.and_(Organization.kind == kind, Organization.status == status) for kind, status in wanted]
    return db.select(Organization.id).where(Organization.kind.in_(MANAGED_KINDS), db.or_(db.false(), *conditions))


def _create_organization(*, fields, crm_id, parent_crm_id, connection_id, options, actor_label, link):
    return organizations.create_from_crm(fields=fields, actor_label=actor_label, connection_id=connection_id,
                                         allowed=selected_kinds(options), link=link)


ORGANIZATION = entities.register(entities.Entity(
    name="organization", model=Organization, crm_object=ORG_OBJECT, fields=ORG_FIELDS,
    values=organization_values, contact_email=lambda values: None, company_domain=lambda values: values.get("domain"),
    apply_change=lambda *a, **kw: organizations.apply_crm_change(*a, **kw), label=lambda org: org.name,
    select_ids=_organization_ids, create_from_crm=lambda **kw: _create_organization(**kw), master_option=MASTER_OPTION,
    after_deletion=None))


# ---- user ----------------------------------------------------------------------------------------

USER_FIELDS: dict[str, FieldSpec] = {
    "first_name": ("First name", str, True),
    "last_name": ("Last name", str, True),
    "name": ("Full name", str, True),
    "email": ("Email", str, True),
    "active": ("Active in the portal", bool, True),
    "role": ("Role", str, False),
    "organization_id": ("Organization's portal id (the account it is on)", str, False),
    "portal_id": ("Portal user id", str, False),
}


def split_name(name: str | None) -> tuple[str | None, str]:
    """"Ada King Lovelace" -> ("Ada King", "Lovelace"); a Contact needs a last name."""
    words = (name or "").split()
    if not words:
        return None, "(unknown)"
    return (" ".join(words[:-1]) or None), words[-1]


def user_values(user) -> dict:
    first, last = split_name(user.name)
    return {"first_name": first, "last_name": last, "name": user.name, "email": user.email,
            "active": bool(user.active), "role": user.role, "organization_id": str(user.organization_id),
            "portal_id": str(user.id), "partner_status": partner_status(user.organization.kind,
                                                                       user.organization.status)}


def _user_ids(options: dict):
    """Users of the organizations the connection syncs."""
    return db.select(User.id).where(User.organization_id.in_(_organization_ids(options)))


def _create_user(*, fields, crm_id, parent_crm_id, connection_id, options, actor_label, link):
    """A person on a synced account: a user of the account's organization (an account the portal
    does not sync: nobody)."""
    account_id = parent_crm_id
    org_link = db.session.scalar(db.select(CrmLink).where(
        CrmLink.connection_id == connection_id, CrmLink.entity_type == "organization", CrmLink.crm_id == account_id,
        CrmLink.state != LinkState.UNLINKED.value)) if account_id else None
    org = db.session.get(Organization, org_link.entity_id) if org_link is not None else None
    if org is None or org.kind not in MANAGED_KINDS:
        return None
    return accounts.create_from_crm(organization=org, fields=fields, actor_label=actor_label,
                                    connection_id=connection_id, link=link)


USER = entities.register(entities.Entity(
    name="user", model=User, crm_object=USER_OBJECT, fields=USER_FIELDS, values=user_values,
    contact_email=lambda values: values.get("email"), company_domain=lambda values: None,
    apply_change=lambda *a, **kw: accounts.apply_crm_change(*a, **kw), label=lambda user: user.email,
    select_ids=_user_ids, create_from_crm=lambda **kw: _create_user(**kw), master_option=MASTER_OPTION,
    after_deletion=None))
