"""Commission plans and the commission a won referral earns.

The plan for a partner is its organization's own plan if it has one, else the plan for its tier.
Amounts are Decimal, rounded half-up to the currency's minor unit.
"""
from __future__ import annotations

from decimal import Decimal

from portal import money
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.models import Commission, CommissionPlan, CommissionStatus, Organization, PlanKind, Referral
from portal.models.accounts import TIERS
from portal.models.types import utcnow


def compute(plan: CommissionPlan, won_amount: Decimal, currency: str) -> Decimal:
    """The commission for `won_amount` under `plan`, in `currency`."""
    if plan.kind == PlanKind.FLAT.value:
        amount = plan.flat_amount or Decimal("0")
    else:
        amount = won_amount * (plan.percent or Decimal("0")) / Decimal(100)
    if plan.cap_amount is not None:
        amount = min(amount, plan.cap_amount)
    return money.quantize(amount, currency)


def plan_for(org: Organization) -> CommissionPlan | None:
    override = db.session.scalar(db.select(CommissionPlan).where(
        CommissionPlan.organization_id == org.id, CommissionPlan.active.is_(True)).order_by(CommissionPlan.id.desc()))
    if override is not None:
        return override
    if not org.tier:
        return None
    return db.session.scalar(db.select(CommissionPlan).where(
        CommissionPlan.tier == org.tier, CommissionPlan.organization_id.is_(None),
        CommissionPlan.active.is_(True)).order_by(CommissionPlan.id.desc()))


def create_for(referral: Referral) -> Commission | None:
    """Create the pending commission of a won referral (within the caller's transaction)."""
    existing = db.session.scalar(db.select(Commission).where(Commission.referral_id == referral.id))
    if existing is not None:
        return existing
    plan = plan_for(referral.partner_org)
    if plan is None:
        return None
    # A flat fee is paid in the plan's currency; a percentage in the currency the deal was won in.
    currency = plan.currency if plan.kind == PlanKind.FLAT.value else referral.currency
    commission = Commission(referral=referral, partner_org_id=referral.partner_org_id, plan=plan,
                            amount=compute(plan, referral.won_amount or Decimal("0"), currency),
                            currency=currency, status=CommissionStatus.PENDING.value)
    db.session.add(commission)
    return commission


def mark_paid(commission: Commission) -> Commission:
    """Within the caller's transaction."""
    if commission.status == CommissionStatus.PAID.value:
        raise DomainError("This commission is already paid.")
    if commission.status == CommissionStatus.VOID.value:
        raise DomainError("This commission was voided.")
    commission.status = CommissionStatus.PAID.value
    commission.paid_at = utcnow()
    return commission


def save_plan(*, name: str, kind: str, flat_amount: Decimal | None, percent: Decimal | None,
              cap_amount: Decimal | None, currency: str, tier: str | None, organization_id: int | None,
              plan: CommissionPlan | None = None) -> CommissionPlan:
    """Create or edit a plan. A plan applies to a tier, or to one organization (which then overrides its tier)."""
    if not (name or "").strip():
        raise DomainError("Give the plan a name.", field="name")
    if kind == PlanKind.FLAT.value and (flat_amount is None or flat_amount <= 0):
        raise DomainError("Enter the flat amount.", field="flat_amount")
    if kind == PlanKind.PERCENT.value and (percent is None or not Decimal(0) < percent <= Decimal(100)):
        raise DomainError("Enter a percentage between 0 and 100.", field="percent")
    if kind not in {k.value for k in PlanKind}:
        raise DomainError("Choose flat or percentage.", field="kind")
    if bool(tier) == bool(organization_id):
        raise DomainError("Choose either a tier or one organization.", field="tier")
    if tier and tier not in TIERS:
        raise DomainError("Unknown tier.", field="tier")
    if organization_id:
        org = db.session.get(Organization, organization_id)
        if org is None or org.is_vendor:
            raise DomainError("Choose a partner or distributor.", field="organization_id")
    if cap_amount is not None and cap_amount <= 0:
        raise DomainError("A cap must be more than zero; leave it empty for none.", field="cap_amount")
    if currency not in money.CURRENCIES:
        raise DomainError("Choose a currency from the list.", field="currency")
    plan = plan or CommissionPlan()
    plan.name, plan.kind, plan.currency = name.strip(), kind, currency
    plan.flat_amount = money.quantize(flat_amount, currency) if kind == PlanKind.FLAT.value else None
    plan.percent = percent if kind == PlanKind.PERCENT.value else None
    plan.cap_amount = money.quantize(cap_amount, currency) if cap_amount is not None else None
    plan.tier, plan.organization_id = tier or None, organization_id or None
    db.session.add(plan)
    db.session.commit()
    return plan


def list_plans() -> list[CommissionPlan]:
    return list(db.session.scalars(db.select(CommissionPlan).order_by(CommissionPlan.organization_id.is_not(None),
                                                                     CommissionPlan.tier, CommissionPlan.name)))


def get_plan(plan_id: int) -> CommissionPlan:
    """One plan by id. Raises NotFound."""
    plan = db.session.get(CommissionPlan, plan_id)
    if plan is None:
        raise NotFound()
    return plan


def _filtered(query, *, status: str = "", partner_org_id: int | None = None):
    if status:
        query = query.where(Commission.status == status)
    if partner_org_id:
        query = query.where(Commission.partner_org_id == partner_org_id)
    return query


def list_commissions(*, status: str = "", partner_org_id: int | None = None, page: int = 1, per_page: int = 25):
    """Commissions, newest first, optionally of one status and one partner."""
    query = _filtered(db.select(Commission), status=status, partner_org_id=partner_org_id)
    query = query.options(db.joinedload(Commission.referral).joinedload(Referral.partner_org))
    return db.paginate(query.order_by(Commission.created_at.desc(), Commission.id.desc()),
                       page=page, per_page=per_page, error_out=False)


def totals(*, status: str = "", partner_org_id: int | None = None) -> dict[str, Decimal]:
    """{currency: sum of amounts} of the commissions the filters select: never add up different currencies."""
    query = _filtered(db.select(Commission.currency, db.func.sum(Commission.amount)), status=status,
                      partner_org_id=partner_org_id).group_by(Commission.currency).order_by(Commission.currency)
    return {currency: money.quantize(total or 0, currency) for currency, total in db.session.execute(query)}
