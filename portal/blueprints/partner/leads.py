"""Leads the vendor sent to this partner (as a reseller): accept or decline by the respond-by date; an
accepted one becomes a deal registration or is closed with no business."""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_login import current_user

from portal.web import htmx
from portal.blueprints.partner.blueprint import bp
from portal.blueprints.partner.forms import CloseLeadForm, DeclineLeadForm
from portal.errors import DomainError
from portal.services import access, deals, lead_distribution, leads, referrals


@bp.get("/leads")
def leads_list():
    page = leads.list_for_org(current_user.organization, status=request.args.get("status", ""),
                              page=request.args.get("page", 1, type=int))
    return render_template("partner/leads/list.html", page=page, status=request.args.get("status", ""))


@bp.get("/leads/<int:lead_id>")
def lead_detail(lead_id: int):
    lead = access.lead_for(current_user, lead_id)
    return _detail(lead, DeclineLeadForm(), CloseLeadForm())


@bp.post("/leads/<int:lead_id>/accept")
def lead_accept(lead_id: int):
    lead = access.lead_for(current_user, lead_id)
    leads.accept(lead, by=current_user)
    flash("You accepted the lead.", "success")
    return htmx.redirect(url_for(".lead_detail", lead_id=lead.id))


@bp.post("/leads/<int:lead_id>/decline")
def lead_decline(lead_id: int):
    lead = access.lead_for(current_user, lead_id)
    form = DeclineLeadForm()
    if form.validate_on_submit():
        try:
            lead_distribution.decline(lead, by=current_user, reason=form.reason.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash("You declined the lead.", "info")
            return htmx.redirect(url_for(".lead_detail", lead_id=lead.id))
    return _detail(lead, form, CloseLeadForm()), 422


@bp.post("/leads/<int:lead_id>/close")
def lead_close(lead_id: int):
    lead = access.lead_for(current_user, lead_id)
    form = CloseLeadForm(prefix="close")
    if form.validate_on_submit():
        try:
            lead_distribution.close(lead, by=current_user, reason=form.reason.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash("The lead is closed; the vendor sees why.", "info")
            return htmx.redirect(url_for(".lead_detail", lead_id=lead.id))
    return _detail(lead, DeclineLeadForm(formdata=None), form), 422


def _detail(lead, decline_form, close_form):
    return render_template("partner/leads/detail.html", lead=lead, decline_form=decline_form,
                           close_form=close_form if close_form.form_errors or close_form.errors
                           else CloseLeadForm(prefix="close", formdata=None),
                           deal=deals.for_lead(lead.id), timeline=referrals.timeline("lead", lead.id))
