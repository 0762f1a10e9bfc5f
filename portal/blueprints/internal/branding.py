"""The public referral pages' branding: an internal admin's settings page, and its logo upload."""
from __future__ import annotations

from flask import flash, render_template, request, url_for

from portal.web import htmx
from portal.web.guards import requires
from portal.web.request_limits import allow_body
from portal.blueprints.internal.blueprint import bp
from portal.blueprints.internal.forms import BrandingForm, LogoForm, LogoRemoveForm
from portal.errors import DomainError
from portal.services import branding, logos, settings

# Room for a file a little over the logo limit, so that it gets the limit's own message, not a 413.
LOGO_BODY_BYTES = 4 * logos.MAX_BYTES


@bp.route("/settings/public-page", methods=["GET", "POST"])
@requires("manage_settings")
def settings_branding():
    form = BrandingForm(data=settings.get("branding"))
    if form.validate_on_submit():
        try:
            branding.update(vendor_name=form.vendor_name.data, primary_color=form.primary_color.data,
                            headline=form.headline.data, intro=form.intro.data,
                            privacy_text=form.privacy_text.data, attribution_days=form.attribution_days.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash("The public referral page is saved.", "success")
            return htmx.redirect(url_for(".settings_branding"))
    return _page(form=form), 422 if request.method == "POST" else 200


@bp.post("/settings/public-page/logo")
@requires("manage_settings")
@allow_body(LOGO_BODY_BYTES)
def settings_logo_upload():
    logo_form = LogoForm()
    if logo_form.validate_on_submit():
        try:
            branding.upload_logo(logo_form.logo.data.read())
        except DomainError as err:
            logo_form.attach(err)
        else:
            flash("The logo is saved: this is how prospects see it.", "success")
            return htmx.redirect(url_for(".settings_branding", _anchor="logo-settings"))
    return _page(logo_form=logo_form), 422


@bp.post("/settings/public-page/logo/remove")
@requires("manage_settings")
def settings_logo_remove():
    if LogoRemoveForm().validate_on_submit():
        branding.remove_logo()
        flash("The logo is removed: the pages show the company name with its initial.", "success")
    return htmx.redirect(url_for(".settings_branding", _anchor="logo-settings"))


def _page(*, form=None, logo_form=None):
    return render_template("internal/branding/edit.html", form=form or BrandingForm(data=settings.get("branding")),
                           logo_form=logo_form or LogoForm(), remove_form=LogoRemoveForm(), brand=branding.get(),
                           logo=branding.image(branding.LOGO), max_bytes=logos.MAX_BYTES, max_side=logos.MAX_SIDE)
