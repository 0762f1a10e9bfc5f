"""Commission plans and the commissions a won referral and a won deal registration earn.

The plan for a partner is its organization's own plan if it has one, else the plan for its tier.
A commission is always in its plan's currency: a flat fee and a cap are stated in it. A percentage of
a deal won in another currency is converted with the admin's rate table (the rate and its date are
recorded on the commission) or, with no rate or when the setting says so, held for a person to
decide. Never 1:1. Amounts are Decimal, rounded half-up to the currency's minor unit.
Referral plans pay the referrer of a won referral; reseller plans (audience "reseller") pay the reseller
of a won deal registration, beside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from portal import database, money
from portal.errors import DomainError
from portal.extensions import db
from portal.models import (Commission, CommissionPlan, CommissionStatus, DealRegistration, EntryKind, ExchangeRate,
                           Organization, PlanKind, Referral, User)
from portal.models.accounts import TIERS
from portal.models.types import utcnow
from portal.services import access, ledger, settings

# What a percentage of a deal won in another currency than the plan's becomes (the "commissions" setting).
FOREIGN_CURRENCY_POLICIES = {
    "convert": "Convert with the latest rate in the table (held when there is none)",
    "hold": "Hold it for a person to decide",
}
RATE_PLACES = Decimal("0.00000001")


class CurrencyMismatch(DomainError):
    """A won amount in one currency cannot be used with a plan in another without a rate."""


@dataclass(frozen=True)
class Rate:
    """`rate` units of the quote currency per unit of the base currency, valid from `valid_on`."""
    rate: Decimal
    valid_on: date


def compute(plan: CommissionPlan, won_amount: Decimal, won_currency: str, *, rate: Decimal | None = None) -> Decimal:
    """The commission for a deal won at `won_amount` `won_currency` under `plan`, in the plan's currency.

    A percentage of a deal won in another currency needs `rate` (plan currency per unit of the won
    currency); without one this raises CurrencyMismatch. Never negative, never above the cap.
    """
    if plan.kind == PlanKind.FLAT.value:
        amount = plan.flat_amount or Decimal("0")
    else:
        basis = won_amount
        if won_currency.upper() != plan.currency:
            if rate is None or rate <= 0:
                raise CurrencyMismatch(f"The deal was won in {won_currency.upper()} and the plan pays in "
                                       f"{plan.currency}: a rate is needed.")
            basis = won_amount * rate
        amount = basis * (plan.percent or Decimal("0")) / Decimal(100)
    amount = max(amount, Decimal("0"))
    if plan.cap_amount is not None:
        amount = min(amount, plan.cap_amount)
    return money.quantize(amount, plan.currency)


def rate_for(base_currency: str, quote_currency: str, on: date) -> Rate | None:
    """The newest rate from the table valid on `on` (the pair as entered, or its inverse), or None."""
    candidates = []
    for base, quote, invert in ((base_currency, quote_currency, False), (quote_currency, base_currency, True)):
        row = db.session.scalar(db.select(ExchangeRate).where(
            ExchangeRate.base_currency == base, ExchangeRate.quote_currency == quote,
            ExchangeRate.valid_on <= on).order_by(ExchangeRate.valid_on.desc()).limit(1))
        if row is not None and row.rate > 0:
            value = (Decimal(1) / row.rate).quantize(RATE_PLACES) if invert else row.rate
            candidates.append(Rate(rate=value, valid_on=row.valid_on))
    return max(candidates, key=lambda found: found.valid_on) if candidates else None


AUDIENCES = {"referral": "Referral plan (pays the referrer)", "reseller": "Reseller plan (pays the reseller of a won deal)"}


def plan_for(org: Organization, audience: str = "referral") -> CommissionPlan | None:
    active = db.and_(CommissionPlan.active.is_(True), CommissionPlan.audience == audience)
    override = db.session.scalar(db.select(CommissionPlan).where(
        CommissionPlan.organization_id == org.id, active).order_by(CommissionPlan.id.desc()))
    if override is not None:
        return override
    if not org.tier:
        return None
    return db.session.scalar(db.select(CommissionPlan).where(
        CommissionPlan.tier == org.tier, CommissionPlan.organization_id.is_(None), active)
        .order_by(CommissionPlan.id.desc()))


def create_for(referral: Referral, *, by: User | None = None, actor_label: str | None = None) -> Commission | None:
    """Create the pending commission of a won referral (within the caller's transaction); its ledger
    entry starts the holding period. A referral won again after it fell through earns its commission again."""
    existing = db.session.scalar(db.select(Commission).where(Commission.referral_id == referral.id))
    if existing is not None:
        if existing.status in (CommissionStatus.VOID.value, CommissionStatus.PAID.value) and existing.plan is not None:
            amount = existing.amount
            if existing.status == CommissionStatus.VOID.value:
                amount = _amount_again(existing, referral)
            ledger.reinstate(existing, amount=amount, by=by, actor_label=actor_label)
        return existing
    plan = plan_for(referral.partner_org)
    if plan is None:
        return None
    return _earn(plan, referral.won_amount, referral.currency, referral.won_at, by=by, actor_label=actor_label,
                 referral=referral, partner_org_id=referral.partner_org_id)


def create_for_deal(deal: DealRegistration, *, by: User | None = None,
                    actor_label: str | None = None) -> Commission | None:
    """The reseller's pending commission on a won deal registration, from its reseller plan (caller's transaction)."""
    existing = db.session.scalar(db.select(Commission).where(Commission.deal_registration_id == deal.id))
    if existing is not None:
        return existing
    plan = plan_for(deal.partner_org, "reseller")
    if plan is None:
        return None
    return _earn(plan, deal.won_amount, deal.currency, deal.won_at, by=by, actor_label=actor_label,
                 deal_registration=deal, partner_org_id=deal.partner_org_id)


def _earn(plan: CommissionPlan, won_amount: Decimal | None, won_currency: str, won_at, *, by: User | None,
          actor_label: str | None, **owner) -> Commission:
    won_amount, won_currency = won_amount or Decimal("0"), won_currency.upper()
    commission = Commission(plan=plan, currency=plan.currency, source_amount=won_amount, source_currency=won_currency,
                            status=CommissionStatus.PENDING.value, **owner)
    db.session.add(commission)
    if plan.kind == PlanKind.PERCENT.value and won_currency != plan.currency:
        won_on = (won_at or utcnow()).date()
        rate = None if foreign_currency_policy() == "hold" else rate_for(won_currency, plan.currency, won_on)
        if rate is None:
            commission.status = CommissionStatus.HELD.value
        else:
            commission.fx_rate, commission.fx_rate_date = rate.rate, rate.valid_on
            commission.amount = compute(plan, won_amount, won_currency, rate=rate.rate)
    else:
        commission.amount = compute(plan, won_amount, won_currency)
    ledger.earned(commission, won_at=won_at, by=by, actor_label=actor_label)
    return commission


def _amount_again(commission: Commission, referral: Referral) -> Decimal | None:
    """The amount of a voided commission whose referral was won again (at the rate it was converted at)."""
    won_amount, won_currency = referral.won_amount or Decimal("0"), referral.currency.upper()
    same_source = commission.source_currency == won_currency
    commission.source_amount, commission.source_currency = won_amount, won_currency
    if commission.plan.kind == PlanKind.PERCENT.value and won_currency != commission.plan.currency:
        if commission.fx_rate is None or not same_source:
            return commission.amount
        return compute(commission.plan, won_amount, won_currency, rate=commission.fx_rate)
    return compute(commission.plan, won_amount, won_currency)


def foreign_currency_policy() -> str:
    return settings.get("commissions")["foreign_currency"]


def decide_held(commission: Commission, *, rate: Decimal | None, rate_date: date | None) -> Commission:
    """A person decides a held commission: convert the won amount at `rate` (plan currency per unit of
    the won currency) as of `rate_date`; the commission becomes pending. Raises DomainError."""
    if commission.status != CommissionStatus.HELD.value:
        raise DomainError("Only a held commission waits for a decision.")
    if rate is None or rate <= 0:
        raise DomainError("Enter the rate to convert with.", field="rate")
    if rate_date is None or rate_date > utcnow().date():
        raise DomainError("Enter the date of the rate (today or earlier).", field="rate_date")
    plan = commission.plan
    if plan is None:
        raise DomainError("The plan of this commission was deleted; void it instead.")
    commission.fx_rate, commission.fx_rate_date = rate.quantize(RATE_PLACES), rate_date
    commission.amount = compute(plan, commission.source_amount or Decimal("0"), commission.source_currency or "",
                                rate=commission.fx_rate)
    commission.status = CommissionStatus.PENDING.value
    ledger.earned(commission)
    db.session.commit()
    return commission


def save_policy(*, foreign_currency: str) -> None:
    """Choose what a percentage of a deal won in another currency than the plan's becomes."""
    if foreign_currency not in FOREIGN_CURRENCY_POLICIES:
        raise DomainError("Choose convert or hold.", field="foreign_currency")
    settings.save("commissions", {"foreign_currency": foreign_currency})
    db.session.commit()


def add_rate(*, base_currency: str, quote_currency: str, rate: Decimal | None, valid_on: date | None,
             by: User | None) -> ExchangeRate:
    """Add (or correct) the rate of a currency pair from a day on. Raises DomainError."""
    if base_currency not in money.CURRENCIES:
        raise DomainError("Choose a currency from the list.", field="base_currency")
    if quote_currency not in money.CURRENCIES:
        raise DomainError("Choose a currency from the list.", field="quote_currency")
    if base_currency == quote_currency:
        raise DomainError("Choose two different currencies.", field="quote_currency")
    if rate is None or rate <= 0:
        raise DomainError("A rate is more than zero.", field="rate")
    if valid_on is None or valid_on > utcnow().date():
        raise DomainError("Enter the day the rate is valid from (today or earlier).", field="valid_on")
    pair = (ExchangeRate.base_currency == base_currency, ExchangeRate.quote_currency == quote_currency,
            ExchangeRate.valid_on == valid_on)
    values = {"rate": rate.quantize(RATE_PLACES), "created_by_id": by.id if by is not None else None}
    # Two admins entering the same day's rate at once: both succeed, the later one's rate stays.
    if not database.insert_missing(ExchangeRate, [{"base_currency": base_currency, "quote_currency": quote_currency,
                                                   "valid_on": valid_on, "created_at": utcnow(), **values}],
                                   conflict_on=["base_currency", "quote_currency", "valid_on"]):
        db.session.execute(db.update(ExchangeRate).where(*pair).values(**values))
    db.session.commit()
    return db.session.scalar(db.select(ExchangeRate).where(*pair))


def list_rates() -> list[ExchangeRate]:
    return list(db.session.scalars(db.select(ExchangeRate).order_by(
        ExchangeRate.base_currency, ExchangeRate.quote_currency, ExchangeRate.valid_on.desc())))


def check_payable(commission: Commission) -> None:
    """Raises DomainError if `commission` is held, already paid or void; changes nothing."""
    if commission.status == CommissionStatus.HELD.value:
        raise DomainError("This commission is held: decide its amount first (Commissions, Held).")
    if commission.status == CommissionStatus.PAID.value:
        raise DomainError("This commission is already paid.")
    if commission.status == CommissionStatus.VOID.value:
        raise DomainError("This commission was voided.")


def mark_paid(commission: Commission, *, by: User | None = None, payout_batch_id: int | None = None,
              reason: str | None = None) -> Commission:
    """Within the caller's transaction; never commits. Raises DomainError if already paid or void.
    The ledger's paid entry takes the amount off the partner's balance."""
    check_payable(commission)
    commission.status = CommissionStatus.PAID.value
    commission.paid_at = utcnow()
    ledger.record(commission, EntryKind.PAID, -(commission.amount or 0), currency=commission.currency,
                  partner_org_id=commission.partner_org_id, by=by, payout_batch_id=payout_batch_id,
                  reason=reason or f"Commission for {commission.source_number} paid")
    return commission


def save_plan(*, name: str, kind: str, flat_amount: Decimal | None, percent: Decimal | None,
              cap_amount: Decimal | None, currency: str, tier: str | None, organization_id: int | None,
              plan: CommissionPlan | None = None, audience: str = "referral") -> CommissionPlan:
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
    if audience not in AUDIENCES:
        raise DomainError("Choose whom the plan pays.", field="audience")
    plan = plan or CommissionPlan()
    plan.audience = audience
    plan.name, plan.kind, plan.currency = name.strip(), kind, currency
    plan.flat_amount = money.quantize(flat_amount, currency) if kind == PlanKind.FLAT.value else None
    plan.percent = percent if kind == PlanKind.PERCENT.value else None
    plan.cap_amount = money.quantize(cap_amount, currency) if cap_amount is not None else None
    plan.tier, plan.organization_id = tier or None, organization_id or None
    db.session.add(plan)
    db.session.commit()
    return plan


def list_plans() -> list[CommissionPlan]:
    return list(db.session.scalars(db.select(CommissionPlan).order_by(
        CommissionPlan.audience, CommissionPlan.organization_id.is_not(None), CommissionPlan.tier, CommissionPlan.name)))


def _filtered(query, *, status: str = "", partner_org_id: int | None = None):
    if status:
        query = query.where(Commission.status == status)
    if partner_org_id:
        query = query.where(Commission.partner_org_id == partner_org_id)
    return query


def list_commissions(*, status: str = "", partner_org_id: int | None = None, page: int = 1, per_page: int = 25):
    """Commissions, newest first, optionally of one status and one partner."""
    query = _filtered(db.select(Commission), status=status, partner_org_id=partner_org_id)
    query = query.options(db.joinedload(Commission.referral), db.joinedload(Commission.deal_registration),
                          db.joinedload(Commission.partner_org))
    return db.paginate(query.order_by(Commission.created_at.desc(), Commission.id.desc()),
                       page=page, per_page=per_page, error_out=False)


def totals(*, status: str = "", partner_org_id: int | None = None) -> dict[str, Decimal]:
    """{currency: sum of amounts} of the commissions the filters select: never add up different currencies."""
    query = _filtered(db.select(Commission.currency, db.func.sum(Commission.amount)), status=status,
                      partner_org_id=partner_org_id).group_by(Commission.currency).order_by(Commission.currency)
    return {currency: money.quantize(total or 0, currency) for currency, total in db.session.execute(query)}


def list_visible(user: User, *, page: int = 1, per_page: int = 25):
    """The commissions `user` may see (a partner: its own, as referrer and as reseller), newest first."""
    query = access.visible_commissions(user).options(db.joinedload(Commission.referral),
                                                     db.joinedload(Commission.deal_registration))
    return db.paginate(query.order_by(Commission.created_at.desc(), Commission.id.desc()),
                       page=page, per_page=per_page, error_out=False)


def visible_totals(user: User) -> dict[str, Decimal]:
    """{currency: sum} of the commissions `user` may see; never added across currencies."""
    query = (access.visible_commissions(user).with_only_columns(Commission.currency, db.func.sum(Commission.amount))
             .group_by(Commission.currency).order_by(Commission.currency))
    return {currency: money.quantize(total or 0, currency) for currency, total in db.session.execute(query)}
