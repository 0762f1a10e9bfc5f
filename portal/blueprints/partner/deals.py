"""Partner deal registrations: the list (with filters), a new registration (also from a lead), its page,
an extension request; and the organization's commissions, as referrer and as reseller."""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_login import current_user

from portal.blueprints.partner.blueprint import bp
from portal.blueprints.partner.forms import ExtensionRequestForm
from portal.errors import DomainError
from portal.models import DealStatus, LeadStatus
from portal.models.deals import DEAL_STATUS_NAMES
from portal.services import access, commissions, custom_fields, deals
from portal.web import deal_forms, htmx
from portal.web.filters import deal_filter_args, deal_filters


@bp.get("/deals")
def deals_list():
    select_fields = [f for f in custom_fields.for_audience("partners", "deal") if f.kind == "select"]
    filters = deal_filters(select_fields)
    page = deals.list_for_user(current_user, filters, page=request.args.get("page", 1, type=int))
    return htmx.render_page("partner/deals/list.html", "partner/deals/_partials/rows.html", page=page,
                            filters=filters, args=deal_filter_args(filters), custom_filters=select_fields,
                            statuses=DEAL_STATUS_NAMES)


@bp.route("/deals/new", methods=["GET", "POST"])
def deal_new():
    lead_id = request.args.get("lead_id", type=int)
    lead = access.lead_for(current_user, lead_id) if lead_id else None
    if lead is not None and lead.status != LeadStatus.ACCEPTED.value:
        raise DomainError("Only an accepted lead can become a deal registration.")
    prefill = deals.input_from_lead(lead).__dict__ if lead is not None and request.method == "GET" else {}
    form = deal_forms.build_deal_form(current_user, data={k: v for k, v in prefill.items() if k != "custom"} or None)
    if form.validate_on_submit():
        try:
            deal = deals.register(deal_forms.to_input(form), by=current_user, lead=lead,
                                  partner_org_id=deal_forms.choice(form, "partner_org_id"),
                                  owner_id=deal_forms.choice(form, "owner_id"),
                                  distributor_id=deal_forms.choice(form, "distributor_id"),
                                  hidden_from_distributor=bool(getattr(form, "hidden_from_distributor", None)
                                                               and form.hidden_from_distributor.data))
        except DomainError as err:
            form.attach(err)
        else:
            flash(f"Deal registration {deal.number} is submitted. We will let you know when it is reviewed.",
                  "success")
            if deal.conflict_flag:
                flash("This customer may already be registered or referred; your partner manager will look at it.",
                      "warning")
            return htmx.redirect(url_for(".deal_detail", deal_id=deal.id))
    return render_template("partner/deals/new.html", form=form, lead=lead,
                           custom_keys=deal_forms.custom_keys(form)), 422 if request.method == "POST" else 200


@bp.get("/deals/<int:deal_id>")
def deal_detail(deal_id: int):
    deal = access.deal_for(current_user, deal_id)
    return _detail(deal, ExtensionRequestForm())


@bp.post("/deals/<int:deal_id>/extension")
def deal_extension(deal_id: int):
    deal = access.deal_for(current_user, deal_id)
    form = ExtensionRequestForm()
    if form.validate_on_submit():
        try:
            deals.request_extension(deal, by=current_user, reason=form.reason.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash("Your extension request is sent; the vendor will answer it.", "success")
            return htmx.redirect(url_for(".deal_detail", deal_id=deal.id))
    return _detail(deal, form), 422


@bp.get("/commissions")
def commissions_list():
    page = commissions.list_visible(current_user, page=request.args.get("page", 1, type=int))
    return render_template("partner/commissions.html", page=page, totals=commissions.visible_totals(current_user))


def _detail(deal, extension_form):
    mine = deal.partner_org_id == current_user.organization_id
    return render_template("partner/deals/detail.html", deal=deal, extension_form=extension_form,
                           timeline=deals.timeline(deal), labels=deals.labels(),
                           custom=custom_fields.for_audience("partners", "deal"), can_extend=mine and deal.status ==
                           DealStatus.APPROVED.value and deal.extension_requested_at is None)
