"""Partner pages: dashboard and, for partner admins, their team."""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_login import current_user

from portal.web import charts, htmx
from portal.blueprints.partner.blueprint import bp
from portal.web.guards import requires
from portal.blueprints.partner.forms import SharingForm, TeamInviteForm, TeamMfaForm
from portal.errors import DomainError
from portal.web.forms import UserStatusForm
from portal.models.deals import DEAL_STATUS_LABELS
from portal.services import access, accounts, deals, links, mfa, organizations, reports


@bp.get("/")
def dashboard():
    activity_html = charts.activity_section(current_user, request.args, "partner.dashboard")
    if htmx.is_fragment_request():  # the chart's range picker: the chart alone
        return htmx.varying(activity_html)
    return htmx.varying(render_template("partner/dashboard.html", overview=reports.overview(current_user),
                                        deal_counts=deals.count_by_status(current_user),
                                        deal_statuses=DEAL_STATUS_LABELS, personal_link=links.personal(current_user),
                                        activity_html=activity_html))


@bp.get("/team")
@requires("manage_team")
def team():
    page = accounts.list_users(organization_id=current_user.organization_id, page=request.args.get("page", 1, type=int))
    sharing = SharingForm(members_see_all_referrals=current_user.organization.members_see_all_referrals)
    mfa_form = TeamMfaForm(mfa_required=current_user.organization.mfa_required)
    return render_template("partner/team.html", page=page, sharing=sharing, mfa_form=mfa_form)


@bp.post("/team/mfa")
@requires("manage_team")
def team_mfa():
    form = TeamMfaForm()
    if form.validate_on_submit():
        mfa.set_organization_requirement(current_user.organization, form.mfa_required.data, by=current_user)
        flash("Saved: every member now signs in with two steps." if form.mfa_required.data
              else "Saved: two-step sign-in is each member's choice.", "success")
    return htmx.redirect(url_for(".team"))


@bp.post("/team/sharing")
@requires("manage_team")
def team_sharing():
    form = SharingForm()
    if form.validate_on_submit():
        organizations.set_referral_sharing(current_user.organization, form.members_see_all_referrals.data)
        flash("Saved: partner users now see " + ("all of the organization's referrals."
                                                 if form.members_see_all_referrals.data else "only their own referrals."),
              "success")
    return htmx.redirect(url_for(".team"))


@bp.route("/team/invite", methods=["GET", "POST"])
@requires("manage_team")
def team_invite():
    form = TeamInviteForm()
    if form.validate_on_submit():
        try:
            user = accounts.invite(by=current_user, organization=current_user.organization,
                                   email=form.email.data, name=form.name.data, role=form.role.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash(f"Invitation sent to {user.email}.", "success")
            return htmx.redirect(url_for(".team"))
    return render_template("partner/team_invite.html", form=form), 422 if request.method == "POST" else 200


@bp.post("/team/<int:user_id>/status")
@requires("manage_team")
def team_member_status(user_id: int):
    user = access.managed_user_for(current_user, user_id)
    form = UserStatusForm()
    if not form.validate_on_submit():
        raise DomainError("Choose active or inactive.")
    accounts.set_active(user, form.active.data == "1", by=current_user)
    flash(f"{user.name} is now {'active' if user.active else 'deactivated'}.", "success")
    return htmx.redirect(url_for(".team"))


@bp.post("/team/<int:user_id>/resend-invitation")
@requires("manage_team")
def team_resend_invitation(user_id: int):
    user = access.managed_user_for(current_user, user_id)
    accounts.resend_invitation(user, by=current_user)
    flash(f"A new invitation is on its way to {user.email}.", "success")
    return htmx.redirect(url_for(".team"))
