"""Partner and distributor organizations, managed by internal users."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from portal import domains
from portal.errors import DomainError
from portal.extensions import db
from portal.models import Organization, OrgKind, OrgStatus, Referral, User
from portal.models.accounts import TIERS
from portal.services import read_cache
from portal.services.crm import org_sync, scheduling

MANAGED_KINDS = (OrgKind.PARTNER.value, OrgKind.DISTRIBUTOR.value)


@dataclass
class OrgFilters:
    q: str = ""
    kind: str = ""
    status: str = ""
    tier: str = ""


def vendor() -> Organization:
    """The one vendor organization running this portal."""
    org = db.session.scalar(db.select(Organization).where(Organization.kind == OrgKind.VENDOR.value))
    if org is None:
        raise DomainError("The portal has no vendor organization yet: run `flask portal seed-demo` or `init`.")
    return org


@dataclass(frozen=True)
class PartnerName:
    """A partner or distributor as choice lists show it (cached per process: never an ORM row)."""
    id: int
    name: str
    kind: str
    tier: str | None


def partner_names(*, active_only: bool = False) -> tuple[PartnerName, ...]:
    """Partner and distributor organizations by name, for the lists' filters and choices (cached behind
    the organizations' read-cache stamp: the review queue and the lists ask on every page)."""
    def load() -> tuple[PartnerName, ...]:
        query = (db.select(Organization.id, Organization.name, Organization.kind, Organization.tier)
                 .where(Organization.kind.in_(MANAGED_KINDS)).order_by(Organization.name))
        if active_only:
            query = query.where(Organization.status == OrgStatus.ACTIVE.value)
        return tuple(PartnerName(*row) for row in db.session.execute(query))
    return read_cache.cached(read_cache.ORGANIZATIONS, f"partners:{active_only}", load)


def partners(*, active_only: bool = False) -> list[Organization]:
    """Partner and distributor organizations by name, for choice lists."""
    query = db.select(Organization).where(Organization.kind.in_(MANAGED_KINDS)).order_by(Organization.name)
    if active_only:
        query = query.where(Organization.status == OrgStatus.ACTIVE.value)
    return list(db.session.scalars(query))


def resellers_for(referral: Referral) -> list[Organization]:
    """The active partners and distributors `referral` may be sent to as a lead (not its own partner)."""
    return [org for org in partners(active_only=True) if org.id != referral.partner_org_id]


def all_vendor_first() -> list[Organization]:
    """Every organization, the vendor first, then by name: where an admin may invite a user."""
    return list(db.session.scalars(db.select(Organization).order_by(Organization.kind != OrgKind.VENDOR.value,
                                                                     Organization.name)))


def search(filters: OrgFilters, *, page: int = 1, per_page: int = 20):
    """Partner and distributor organizations matching the filters, by name, paginated."""
    return db.paginate(_filtered(filters), page=page, per_page=per_page, error_out=False)


def _filtered(filters: OrgFilters):
    query = db.select(Organization).where(Organization.kind.in_(MANAGED_KINDS))
    if filters.q:
        like = f"%{filters.q.strip().lower()}%"
        query = query.where(db.or_(db.func.lower(Organization.name).like(like),
                                   db.func.lower(Organization.domain).like(like)))
    if filters.kind in MANAGED_KINDS:
        query = query.where(Organization.kind == filters.kind)
    if filters.status in {s.value for s in OrgStatus}:
        query = query.where(Organization.status == filters.status)
    if filters.tier in TIERS:
        query = query.where(Organization.tier == filters.tier)
    return query.order_by(Organization.name, Organization.id)


@dataclass
class _Sheet:
    label: str


class OrganizationExport:
    """The filtered organizations list in the shape the report engine's export writers take
    (`exports.write_xlsx`), so the Excel file is written and neutralised the same way as reports."""

    entity = _Sheet("Organizations")
    HEADER = ["ID", "Name", "Kind", "Status", "Tier", "Domain", "Country", "Users", "Created (UTC)"]

    def __init__(self, filters: OrgFilters):
        self.filters = filters

    def export_header(self) -> list[str]:
        return list(self.HEADER)

    def iter_rows(self, *, batch: int = 2000) -> Iterator:
        users = (db.select(db.func.count(User.id)).where(User.organization_id == Organization.id)
                 .correlate(Organization).scalar_subquery())
        query = self._query().with_only_columns(Organization, users.label("users"))
        yield from db.session.execute(query.execution_options(yield_per=batch))

    def export_cells(self, row) -> list:
        org, users = row
        return [org.id, org.name, org.kind.title(), org.status.title(), (org.tier or "").title() or None,
                org.domain, org.country, users, org.created_at.replace(tzinfo=None) if org.created_at else None]

    def _query(self):
        return _filtered(self.filters)


def export(filters: OrgFilters) -> OrganizationExport:
    """The organizations matching `filters`, one row each, for an Excel export."""
    return OrganizationExport(filters)


def create(*, kind: str, name: str, tier: str | None = None, domain: str | None = None,
           country: str | None = None) -> Organization:
    """Add a partner or distributor organization."""
    _check(kind, name, tier)
    org = Organization(kind=kind, name=name.strip(), tier=tier or None, domain=domains.normalize(domain),
                       country=(country or "").upper() or None, status=OrgStatus.ACTIVE.value)
    db.session.add(org)
    org_sync.mark_organization_dirty(org)
    db.session.commit()
    return org


def update(org: Organization, *, kind: str, name: str, tier: str | None, domain: str | None,
           country: str | None) -> Organization:
    """Edit an organization's details."""
    if org.is_vendor:
        raise DomainError("The vendor organization is edited in the settings.")
    _check(kind, name, tier)
    org.kind, org.name, org.tier = kind, name.strip(), tier or None
    org.domain, org.country = domains.normalize(domain), (country or "").upper() or None
    org_sync.mark_organization_dirty(org)
    db.session.commit()
    return org


def set_status(org: Organization, status: str) -> Organization:
    """Deactivate (its users can no longer sign in) or reactivate an organization."""
    if org.is_vendor:
        raise DomainError("The vendor organization cannot be deactivated.")
    if status not in {s.value for s in OrgStatus}:
        raise DomainError("Unknown status.")
    org.status = status
    org_sync.mark_organization_dirty(org, with_users=True)
    db.session.commit()
    return org


def _check(kind: str, name: str, tier: str | None) -> None:
    if kind not in MANAGED_KINDS:
        raise DomainError("Choose partner or distributor.", field="kind")
    if not (name or "").strip():
        raise DomainError("Give the organization a name.", field="name")
    if tier and tier not in TIERS:
        raise DomainError("Unknown tier.", field="tier")


def set_referral_sharing(org: Organization, members_see_all: bool) -> Organization:
    """A partner admin's choice: do partner users see all of the organization's referrals?"""
    org.members_see_all_referrals = bool(members_see_all)
    db.session.commit()
    return org


# ---- from a CRM (organization sync) -------------------------------------------------------------

def apply_crm_change(org: Organization, *, fields: dict, status: str | None = None, reason: str | None = None,
                     amount=None, actor_label: str, connection_id: int) -> list[str]:
    """A CRM's change to a synced organization (name, partner status, tier, domain, country) in one
    commit; nothing goes back to that connection. Returns the changed field names. Raises
    DomainError (nothing changes) for a value the portal cannot take."""
    if org.is_vendor:
        raise DomainError("The vendor organization is not synced.")
    planned = _from_crm(fields, actor_label, current=org)
    with scheduling.pulling(connection_id):
        changed = [name for name, value in planned.items() if getattr(org, name) != value]
        for name in changed:
            setattr(org, name, planned[name])
        if changed:
            org_sync.mark_organization_dirty(org, with_users="status" in changed)
        db.session.commit()
    return changed


def create_from_crm(*, fields: dict, actor_label: str, connection_id: int, allowed: tuple[str, ...],
                    link=None) -> Organization | None:
    """A CRM account flagged for the portal that the portal does not know: its organization, when its
    kind and status (partner status) is one of `allowed`; None otherwise. `link(org)` records the
    CRM link in the same commit. Raises DomainError (nothing is created) for values the portal cannot take."""
    planned = _from_crm(fields, actor_label, current=None)
    kind, status = planned.get("kind"), planned.get("status")
    if kind is None or f"{status}_{kind}" not in allowed:
        return None
    if not planned.get("name"):
        raise DomainError(f"The {actor_label} account has no name.")
    org = Organization(**planned)
    with scheduling.pulling(connection_id):
        db.session.add(org)
        db.session.flush()
        if link is not None:
            link(org)
        org_sync.mark_organization_dirty(org)
        db.session.commit()
    return org


def _from_crm(fields: dict, actor_label: str, *, current: Organization | None) -> dict:
    """The organization columns a CRM's values ask for, checked before anything is written."""
    planned = {}
    if "name" in fields:
        name = (fields["name"] or "").strip()
        if not name:
            raise DomainError(f"{actor_label} cleared the organization's name; the portal keeps a name.")
        planned["name"] = name[:200]
    if fields.get("partner_status"):
        value = str(fields["partner_status"]).strip().lower().replace(" ", "_")
        state, _, kind = value.partition("_")
        if kind not in MANAGED_KINDS or state not in {s.value for s in OrgStatus}:
            raise DomainError(f"{actor_label}'s partner status {fields['partner_status']!r} is not one of "
                              "Active Partner, Inactive Partner, Active Distributor, Inactive Distributor.")
        planned["kind"], planned["status"] = kind, state
    elif current is None:
        planned["kind"], planned["status"] = OrgKind.PARTNER.value, OrgStatus.ACTIVE.value
    if "tier" in fields:
        tier = (fields["tier"] or "").strip().lower() or None
        if tier and tier not in TIERS:
            raise DomainError(f"{actor_label}'s tier {fields['tier']!r} is not one of {', '.join(TIERS)}.")
        planned["tier"] = tier
    if "domain" in fields:
        planned["domain"] = domains.normalize(fields["domain"])
    if "country" in fields:
        country = (fields["country"] or "").strip().upper() or None
        if country and len(country) != 2:
            raise DomainError(f"{actor_label}'s country {fields['country']!r} is not a two-letter code; "
                              "map its values in the field mappings.")
        planned["country"] = country
    return planned
