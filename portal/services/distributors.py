"""Two-tier distribution: which partners buy through which distributor (kept on the organization pages)."""
from __future__ import annotations

from dataclasses import dataclass

from portal.errors import DomainError
from portal.extensions import db
from portal.models import DistributorAssignment, Organization, OrgKind


@dataclass
class Assignments:
    """What an organization page shows: a partner's distributors (and which it may have), or a distributor's partners."""

    assigned: list[Organization]
    choices: list[Organization]


def for_organization(org: Organization) -> Assignments | None:
    if org.kind == OrgKind.PARTNER.value:
        assigned = db.select(DistributorAssignment.distributor_org_id).where(DistributorAssignment.partner_org_id == org.id)
        choices = list(db.session.scalars(db.select(Organization).where(
            Organization.kind == OrgKind.DISTRIBUTOR.value).order_by(Organization.name)))
        return Assignments([o for o in choices if o.id in set(db.session.scalars(assigned))], choices)
    if org.kind == OrgKind.DISTRIBUTOR.value:
        partners = list(db.session.scalars(db.select(Organization).join(
            DistributorAssignment, DistributorAssignment.partner_org_id == Organization.id).where(
            DistributorAssignment.distributor_org_id == org.id).order_by(Organization.name)))
        return Assignments(partners, [])
    return None


def set_distributors(partner: Organization, distributor_ids: list[int]) -> list[Organization]:
    """The distributors `partner` buys through, replacing the earlier choice. Raises DomainError."""
    if partner.kind != OrgKind.PARTNER.value:
        raise DomainError("Only partners buy through distributors.")
    chosen = list(db.session.scalars(db.select(Organization).where(
        Organization.id.in_(distributor_ids or []), Organization.kind == OrgKind.DISTRIBUTOR.value)))
    if len(chosen) != len(set(distributor_ids or [])):
        raise DomainError("Choose distributors from the list.", field="distributor_ids")
    wanted = {o.id for o in chosen}
    current = {a.distributor_org_id: a for a in db.session.scalars(db.select(DistributorAssignment).where(
        DistributorAssignment.partner_org_id == partner.id))}
    for distributor_id, assignment in current.items():
        if distributor_id not in wanted:
            db.session.delete(assignment)
    for distributor_id in wanted - set(current):
        db.session.add(DistributorAssignment(distributor_org_id=distributor_id, partner_org_id=partner.id))
    db.session.commit()
    return chosen
