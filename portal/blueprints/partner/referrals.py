"""Partner referral pages: my referrals (list, filters), new referral, the referral's own page."""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_login import current_user

from portal.web import htmx, referral_forms
from portal.web.filters import filter_args, referral_filters
from portal.blueprints.partner.blueprint import bp
from portal.errors import DomainError
from portal.models import Source
from portal.services import access, custom_fields, deals, leads, referrals, settings, statuses


@bp.get("/referrals")
def referrals_list():
    select_fields = _select_fields()
    filters = referral_filters(select_fields)
    page = referrals.list_for_user(current_user, filters, page=request.args.get("page", 1, type=int))
    return htmx.render_page("partner/referrals/list.html", "partner/referrals/_partials/rows.html",
                            page=page, filters=filters, args=filter_args(filters), labels=statuses.labels(),
                            custom_filters=select_fields)


@bp.route("/referrals/new", methods=["GET", "POST"])
def referral_new():
    form = referral_forms.build_referral_form()()
    if form.validate_on_submit():
        try:
            result = referrals.submit(referral_forms.to_input(form), partner_org=current_user.organization,
                                      by=current_user, source=Source.PORTAL.value)
        except DomainError as err:
            form.attach(err)
        else:
            flash(f"Referral {result.referral.number} is submitted. We will let you know when it is reviewed.",
                  "success")
            if result.possible_duplicate:
                flash("This company may already be known to us; your partner manager will look at it.", "warning")
            return htmx.redirect(url_for(".referral_detail", referral_id=result.referral.id))
    return render_template("partner/referrals/new.html", form=form,
                           custom_keys=referral_forms.custom_keys(form)), 422 if request.method == "POST" else 200


@bp.get("/referrals/<int:referral_id>")
def referral_detail(referral_id: int):
    referral = access.referral_for(current_user, referral_id)
    visible = set(settings.get("lead_deal_visibility")["fields"])
    return render_template("partner/referrals/detail.html", referral=referral, labels=statuses.labels(),
                           timeline=referrals.timeline("referral", referral.id), lead=leads.current_for(referral),
                           deal=deals.for_referral(referral.id), visible=visible,
                           custom=custom_fields.for_audience("partners"))


def _select_fields():
    return [f for f in custom_fields.for_audience("partners") if f.kind == "select"]
