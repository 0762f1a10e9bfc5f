"""The public referral pages' branding: an internal admin's settings page."""
from __future__ import annotations

from flask import flash, render_template, request, url_for

from portal.web import htmx
from portal.web.guards import requires
from portal.blueprints.internal.blueprint import bp
from portal.blueprints.internal.forms import BrandingForm
from portal.errors import DomainError
from portal.services import branding, settings


@bp.route("/settings/public-page", methods=["GET", "POST"])
@requires("manage_settings")
def settings_branding():
    form = BrandingForm(data=settings.get("branding"))
    if form.validate_on_submit():
        try:
            branding.update(vendor_name=form.vendor_name.data, logo_url=form.logo_url.data,
                            primary_color=form.primary_color.data, headline=form.headline.data,
                            intro=form.intro.data, privacy_text=form.privacy_text.data,
                            attribution_days=form.attribution_days.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash("The public referral page is saved.", "success")
            return htmx.redirect(url_for(".settings_branding"))
    return render_template("internal/branding/edit.html", form=form, brand=branding.get()), \
        422 if request.method == "POST" else 200
