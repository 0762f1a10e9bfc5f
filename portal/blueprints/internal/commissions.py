"""Commission plans (create, edit) and the commissions partners earned, for admins and managers."""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_login import current_user

from portal.web import htmx
from portal.web.guards import requires
from portal.blueprints.internal.blueprint import bp
from portal.blueprints.internal.forms import (CommissionPlanForm, CurrencyPolicyForm, ExchangeRateForm,
                                             HeldCommissionForm)
from portal.errors import DomainError
from portal.models import CommissionStatus
from portal.models.types import utcnow
from portal.services import access, commissions, organizations


@bp.get("/commissions")
@requires("manage_commissions")
def commissions_list():
    status = request.args.get("status", "")
    status = status if status in {s.value for s in CommissionStatus} else ""
    partner_org_id = request.args.get("partner_org_id", type=int)
    page = commissions.list_commissions(status=status, partner_org_id=partner_org_id,
                                        page=request.args.get("page", 1, type=int))
    return htmx.render_page("internal/commissions/list.html", "internal/commissions/_partials/rows.html",
                            page=page, status=status, partner_org_id=partner_org_id, partners=organizations.partner_names(),
                            statuses=[s.value for s in CommissionStatus],
                            totals=commissions.totals(status=status, partner_org_id=partner_org_id),
                            args={k: v for k, v in {"status": status, "partner_org_id": partner_org_id}.items() if v})


@bp.get("/commissions/plans")
@requires("manage_commissions")
def commission_plans():
    return render_template("internal/commissions/plans.html", plans=commissions.list_plans())


@bp.route("/commissions/plans/new", methods=["GET", "POST"])
@requires("manage_commissions")
def commission_plan_new():
    form = CommissionPlanForm(organization_id=request.args.get("organization_id", 0, type=int))
    return _plan_form(form, plan=None)


@bp.route("/commissions/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@requires("manage_commissions")
def commission_plan_edit(plan_id: int):
    plan = access.commission_plan_for(current_user, plan_id)
    form = CommissionPlanForm(obj=plan)
    return _plan_form(form, plan=plan)


def _plan_form(form: CommissionPlanForm, *, plan):
    form.set_organizations(organizations.partner_names())
    if form.validate_on_submit():
        try:
            plan = commissions.save_plan(
                plan=plan, name=form.name.data, kind=form.kind.data, flat_amount=form.flat_amount.data,
                percent=form.percent.data, cap_amount=form.cap_amount.data, currency=form.currency.data,
                tier=form.tier.data, organization_id=form.organization_id.data,
                audience=form.audience.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash(f"The plan “{plan.name}” is saved.", "success")
            return htmx.redirect(url_for(".commission_plans"))
    return render_template("internal/commissions/plan_form.html", form=form, plan=plan), \
        422 if request.method == "POST" else 200


@bp.route("/commissions/rates", methods=["GET", "POST"])
@requires("manage_commissions")
def exchange_rates():
    form = ExchangeRateForm(valid_on=utcnow().date())
    if form.validate_on_submit():
        try:
            rate = commissions.add_rate(base_currency=form.base_currency.data, quote_currency=form.quote_currency.data,
                                        rate=form.rate.data, valid_on=form.valid_on.data, by=current_user)
        except DomainError as err:
            form.attach(err)
        else:
            flash(f"1 {rate.base_currency} = {rate.rate.normalize():f} {rate.quote_currency} from "
                  f"{rate.valid_on.isoformat()} is saved.", "success")
            return htmx.redirect(url_for(".exchange_rates"))
    return _rates_page(form, CurrencyPolicyForm(foreign_currency=commissions.foreign_currency_policy()))


@bp.post("/commissions/rates/policy")
@requires("manage_commissions")
def currency_policy():
    policy = CurrencyPolicyForm()
    if policy.validate_on_submit():
        try:
            commissions.save_policy(foreign_currency=policy.foreign_currency.data)
        except DomainError as err:
            policy.attach(err)
        else:
            flash("The currency rule is saved.", "success")
            return htmx.redirect(url_for(".exchange_rates"))
    return _rates_page(ExchangeRateForm(valid_on=utcnow().date()), policy)


def _rates_page(form: ExchangeRateForm, policy: CurrencyPolicyForm):
    return render_template("internal/commissions/rates.html", form=form, policy=policy,
                           rates=commissions.list_rates()), 422 if request.method == "POST" else 200


@bp.route("/commissions/<int:commission_id>/decide", methods=["GET", "POST"])
@requires("manage_commissions")
def commission_decide(commission_id: int):
    commission = access.commission_for(current_user, commission_id)
    suggested = None
    if commission.status == CommissionStatus.HELD.value and commission.source_currency:
        suggested = commissions.rate_for(commission.source_currency, commission.currency, utcnow().date())
    form = HeldCommissionForm(rate=suggested.rate if suggested else None,
                              rate_date=suggested.valid_on if suggested else utcnow().date())
    if form.validate_on_submit():
        try:
            commissions.decide_held(commission, rate=form.rate.data, rate_date=form.rate_date.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash(f"The commission is {commission.amount:f} {commission.currency}, now pending.", "success")
            return htmx.redirect(url_for(".commissions_list"))
    return render_template("internal/commissions/decide.html", form=form, commission=commission), \
        422 if request.method == "POST" else 200

