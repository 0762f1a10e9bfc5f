"""Commission plans (create, edit) and the commissions partners earned, for admins and managers."""
from __future__ import annotations

from flask import flash, render_template, request, url_for

from portal.web import htmx
from portal.web.guards import roles_required
from portal.blueprints.internal.blueprint import bp
from portal.blueprints.internal.forms import CommissionPlanForm
from portal.errors import DomainError
from portal.extensions import db
from portal.models import CommissionStatus, Organization
from portal.services import commissions, organizations

PLAN_MANAGERS = ("admin", "manager")


@bp.get("/commissions")
@roles_required(*PLAN_MANAGERS)
def commissions_list():
    status = request.args.get("status", "")
    status = status if status in {s.value for s in CommissionStatus} else ""
    partner_org_id = request.args.get("partner_org_id", type=int)
    page = commissions.list_commissions(status=status, partner_org_id=partner_org_id,
                                        page=request.args.get("page", 1, type=int))
    return htmx.render_page("internal/commissions/list.html", "internal/commissions/_partials/rows.html",
                            page=page, status=status, partner_org_id=partner_org_id, partners=_organizations(),
                            statuses=[s.value for s in CommissionStatus],
                            totals=commissions.totals(status=status, partner_org_id=partner_org_id),
                            args={k: v for k, v in {"status": status, "partner_org_id": partner_org_id}.items() if v})


@bp.get("/commissions/plans")
@roles_required(*PLAN_MANAGERS)
def commission_plans():
    return render_template("internal/commissions/plans.html", plans=commissions.list_plans())


@bp.route("/commissions/plans/new", methods=["GET", "POST"])
@roles_required(*PLAN_MANAGERS)
def commission_plan_new():
    form = CommissionPlanForm(organization_id=request.args.get("organization_id", 0, type=int))
    return _plan_form(form, plan=None)


@bp.route("/commissions/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@roles_required(*PLAN_MANAGERS)
def commission_plan_edit(plan_id: int):
    plan = commissions.get_plan(plan_id)
    form = CommissionPlanForm(obj=plan)
    return _plan_form(form, plan=plan)


def _plan_form(form: CommissionPlanForm, *, plan):
    form.set_organizations(_organizations())
    if form.validate_on_submit():
        try:
            plan = commissions.save_plan(
                plan=plan, name=form.name.data, kind=form.kind.data, flat_amount=form.flat_amount.data,
                percent=form.percent.data, cap_amount=form.cap_amount.data, currency=form.currency.data,
                tier=form.tier.data, organization_id=form.organization_id.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash(f"The plan “{plan.name}” is saved.", "success")
            return htmx.redirect(url_for(".commission_plans"))
    return render_template("internal/commissions/plan_form.html", form=form, plan=plan), \
        422 if request.method == "POST" else 200


def _organizations() -> list[Organization]:
    return list(db.session.scalars(db.select(Organization).where(
        Organization.kind.in_(organizations.MANAGED_KINDS)).order_by(Organization.name)))
