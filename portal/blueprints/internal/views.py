"""Internal (vendor) pages: dashboard, partner organizations, users."""
from __future__ import annotations

import tempfile

from flask import flash, render_template, request, send_file, url_for
from flask_login import current_user

from portal.web import charts, htmx
from portal.blueprints.internal.blueprint import bp
from portal.web.guards import requires
from portal.blueprints.internal.forms import InviteForm, OrganizationForm, OrgStatusForm
from portal.errors import DomainError
from portal.web.forms import UserStatusForm
from portal.models.accounts import TIERS
from portal.models.deals import DEAL_STATUS_LABELS
from portal.models.types import utcnow
from portal.services.reporting import exports
from portal.services import access, accounts, applications, commissions, deals, distributors, organizations, reports



@bp.get("/")
def dashboard():
    activity_html = charts.activity_section(current_user, request.args, "internal.dashboard")
    if htmx.is_fragment_request():  # the chart's range picker: the chart alone
        return htmx.varying(activity_html)
    overview = reports.overview(current_user)
    return htmx.varying(render_template("internal/dashboard.html", overview=overview,
                                        queue_size=overview.waiting_for_review, top_partners=reports.top_partners(),
                                        deal_counts=deals.count_by_status(current_user),
                                        deal_statuses=DEAL_STATUS_LABELS, activity_html=activity_html))


# ---- organizations --------------------------------------------------------------------------

@bp.get("/organizations")
def organizations_list():
    filters = _org_filters()
    page = organizations.search(filters, page=request.args.get("page", 1, type=int))
    return htmx.render_page("internal/organizations/list.html", "internal/organizations/_partials/rows.html",
                            page=page, filters=filters, tiers=TIERS,
                            pending_applications=applications.pending_count())


@bp.get("/organizations/export.xlsx")
def organizations_export():
    filters = _org_filters()
    mimetype, _ = exports.FORMATS["xlsx"]
    # A workbook is a zip that is only valid once finished: written to a temp file, then streamed out.
    spool = tempfile.TemporaryFile()
    exports.write_xlsx(organizations.export(filters), spool)
    spool.seek(0)
    return send_file(spool, mimetype=mimetype, as_attachment=True,
                     download_name=f"organizations-{utcnow():%Y%m%d-%H%M}.xlsx")


def _org_filters() -> organizations.OrgFilters:
    return organizations.OrgFilters(q=request.args.get("q", ""), kind=request.args.get("kind", ""),
                                    status=request.args.get("status", ""), tier=request.args.get("tier", ""))


@bp.route("/organizations/new", methods=["GET", "POST"])
@requires("manage_orgs")
def organization_new():
    form = OrganizationForm()
    if form.validate_on_submit():
        try:
            org = organizations.create(kind=form.kind.data, name=form.name.data, tier=form.tier.data,
                                       domain=form.domain.data, country=form.country.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash(f"{org.name} is added.", "success")
            return htmx.redirect(url_for(".organization_detail", organization_id=org.id))
    return render_template("internal/organizations/form.html", form=form, org=None), _form_status()


@bp.get("/organizations/<int:organization_id>")
def organization_detail(organization_id: int):
    org = access.organization_for(current_user, organization_id)
    plan = None if org.is_vendor else commissions.plan_for(org)
    return render_template("internal/organizations/detail.html", org=org, plan=plan,
                           reseller_plan=None if org.is_vendor else commissions.plan_for(org, "reseller"),
                           assignments=distributors.for_organization(org))


@bp.route("/organizations/<int:organization_id>/edit", methods=["GET", "POST"])
@requires("manage_orgs")
def organization_edit(organization_id: int):
    org = access.organization_for(current_user, organization_id)
    form = OrganizationForm(obj=org)
    if form.validate_on_submit():
        try:
            organizations.update(org, kind=form.kind.data, name=form.name.data, tier=form.tier.data,
                                 domain=form.domain.data, country=form.country.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash("Changes saved.", "success")
            return htmx.redirect(url_for(".organization_detail", organization_id=org.id))
    return render_template("internal/organizations/form.html", form=form, org=org), _form_status()


@bp.post("/organizations/<int:organization_id>/status")
@requires("manage_orgs")
def organization_status(organization_id: int):
    org = access.organization_for(current_user, organization_id)
    form = OrgStatusForm()
    if not form.validate_on_submit():
        raise DomainError("Choose active or inactive.")
    organizations.set_status(org, form.status.data)
    if htmx.is_fragment_request():
        return render_template("internal/organizations/_partials/row.html", org=org)
    flash(f"{org.name} is now {org.status}.", "success")
    return htmx.redirect(url_for(".organization_detail", organization_id=org.id))


# ---- users ----------------------------------------------------------------------------------

@bp.get("/users")
def users_list():
    page = accounts.list_users(q=request.args.get("q", ""), page=request.args.get("page", 1, type=int),
                               organization_id=request.args.get("organization_id", type=int))
    return htmx.render_page("internal/users/list.html", "internal/users/_partials/rows.html",
                            page=page, q=request.args.get("q", ""))


@bp.route("/users/invite", methods=["GET", "POST"])
@requires("manage_users")
def user_invite():
    form = InviteForm(organization_id=request.args.get("organization_id", type=int))
    form.organization_id.choices = [(o.id, f"{o.name} ({o.kind})") for o in organizations.all_vendor_first()]
    form.role.choices = [(r.value, r.label) for r in accounts.invitable_roles(current_user)]
    if form.validate_on_submit():
        try:
            org = access.organization_for(current_user, form.organization_id.data)
            user = accounts.invite(by=current_user, organization=org, email=form.email.data,
                                   name=form.name.data, role=form.role.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash(f"Invitation sent to {user.email}.", "success")
            return htmx.redirect(url_for(".users_list"))
    return render_template("internal/users/invite.html", form=form), _form_status()


@bp.post("/users/<int:user_id>/status")
@requires("manage_users")
def user_status(user_id: int):
    user = access.managed_user_for(current_user, user_id)
    form = UserStatusForm()
    if not form.validate_on_submit():
        raise DomainError("Choose active or inactive.")
    accounts.set_active(user, form.active.data == "1", by=current_user)
    flash(f"{user.name} is now {'active' if user.active else 'deactivated'}.", "success")
    return htmx.redirect(request.referrer if _same_site(request.referrer) else url_for(".users_list"))


@bp.post("/users/<int:user_id>/resend-invitation")
@requires("manage_users")
def user_resend_invitation(user_id: int):
    user = access.managed_user_for(current_user, user_id)
    accounts.resend_invitation(user, by=current_user)
    flash(f"A new invitation is on its way to {user.email}.", "success")
    return htmx.redirect(url_for(".users_list"))


def _form_status() -> int:
    return 422 if request.method == "POST" else 200


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)
