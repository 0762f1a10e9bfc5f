"""Admin settings: the referral form, custom fields, statuses, duplicates, what partners see."""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_login import current_user

from portal.web import htmx
from portal.web.guards import requires
from portal.blueprints.internal.blueprint import bp
from portal.blueprints.internal.forms import (CustomFieldActiveForm, CustomFieldForm, CustomStatusAddForm,
                                              DuplicatesForm, PartnerProgramForm, StatusRenameForm, VisibilityForm,
                                              referral_form_settings_form)
from portal.errors import DomainError
from portal.models.referrals import STAGE_LABELS, Stage
from portal.services import access, custom_fields, settings, statuses


@bp.get("/settings")
@requires("manage_settings")
def settings_index():
    return render_template("internal/settings/index.html")


@bp.route("/settings/referral-form", methods=["GET", "POST"])
@requires("manage_settings")
def settings_referral_form():
    form = referral_form_settings_form(settings.form_fields())
    if form.validate_on_submit():
        settings.update_form_fields(form.choices())
        return _saved(".settings_referral_form")
    return render_template("internal/settings/referral_form.html", form=form, fields=settings.STANDARD_FIELDS,
                           always=settings.ALWAYS_REQUIRED), _status()


@bp.route("/settings/custom-fields", methods=["GET", "POST"])
@requires("manage_settings")
def settings_custom_fields():
    form = CustomFieldForm()
    if form.validate_on_submit():
        try:
            field = custom_fields.define(label=form.label.data, kind=form.kind.data, options=form.option_list(),
                                         scope=form.scope.data, audience=form.audience.data,
                                         required=form.required.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash(f"The field “{field.label}” is added ({custom_fields.AUDIENCES[field.audience].lower()}).", "success")
            return htmx.redirect(url_for(".settings_custom_fields"))
    return render_template("internal/settings/custom_fields.html", form=form, fields=custom_fields.list_all(),
                           kinds=custom_fields.KINDS, scopes=custom_fields.SCOPES,
                           audiences=custom_fields.AUDIENCES), _status()


@bp.post("/settings/custom-fields/<int:field_id>/active")
@requires("manage_settings")
def settings_custom_field_active(field_id: int):
    field = access.custom_field_for(current_user, field_id)
    form = CustomFieldActiveForm()
    if not form.validate_on_submit():
        raise DomainError("Choose to deactivate or reactivate the field.")
    custom_fields.set_active(field, form.active.data == "1")
    flash(f"“{field.label}” is {'back on' if field.active else 'no longer on'} the referral form.", "success")
    return htmx.redirect(url_for(".settings_custom_fields"))


@bp.route("/settings/statuses", methods=["GET", "POST"])
@requires("manage_settings")
def settings_statuses():
    add_form = CustomStatusAddForm(prefix="add")
    if add_form.validate_on_submit():
        try:
            status = statuses.add_custom(label=add_form.label.data, stage=add_form.stage.data)
        except DomainError as err:
            add_form.attach(err)
        else:
            flash(f"“{status.label}” is added.", "success")
            return htmx.redirect(url_for(".settings_statuses"))
    return _statuses_page(add_form), _status()


@bp.post("/settings/statuses/<key>/rename")
@requires("manage_settings")
def settings_status_rename(key: str):
    status = statuses.get(key)
    form = StatusRenameForm(prefix=status.key)
    if form.validate_on_submit():
        try:
            statuses.rename(status.key, form.label.data)
        except DomainError as err:
            form.attach(err)
        else:
            if not htmx.is_fragment_request():
                flash(f"Renamed to “{status.label}”.", "success")
                return htmx.redirect(url_for(".settings_statuses"))
            return render_template("internal/settings/_partials/status_row.html", status=status,
                                   form=StatusRenameForm(prefix=status.key, formdata=None, label=status.label),
                                   stage_labels=_stage_labels(), saved=True)
    if htmx.is_fragment_request():
        return render_template("internal/settings/_partials/status_row.html", status=status, form=form,
                               stage_labels=_stage_labels()), 422
    return _statuses_page(CustomStatusAddForm(prefix="add", formdata=None), invalid=(status.key, form)), 422


def _statuses_page(add_form, invalid=None):
    rows = []
    for status in statuses.all_statuses():
        form = StatusRenameForm(prefix=status.key, formdata=None, label=status.label)
        rows.append((status, invalid[1] if invalid and invalid[0] == status.key else form))
    return render_template("internal/settings/statuses.html", rows=rows, add_form=add_form,
                           stage_labels=_stage_labels())


@bp.route("/settings/duplicates", methods=["GET", "POST"])
@requires("manage_settings")
def settings_duplicates():
    form = DuplicatesForm(data=settings.get("duplicates"))
    if form.validate_on_submit():
        try:
            settings.update_duplicates(policy=form.policy.data, window_days=form.window_days.data)
        except DomainError as err:
            form.attach(err)
        else:
            return _saved(".settings_duplicates")
    return render_template("internal/settings/duplicates.html", form=form), _status()


@bp.route("/settings/visibility", methods=["GET", "POST"])
@requires("manage_settings")
def settings_visibility():
    form = VisibilityForm(data={"lead_deal_fields": settings.get("lead_deal_visibility")["fields"],
                                "respond_within_days": settings.get("leads")["respond_within_days"]})
    if form.validate_on_submit():
        try:
            settings.update_visibility(lead_deal_fields=form.lead_deal_fields.data,
                                       respond_within_days=form.respond_within_days.data)
        except DomainError as err:
            form.attach(err)
        else:
            return _saved(".settings_visibility")
    return render_template("internal/settings/visibility.html", form=form), _status()


@bp.route("/settings/partner-program", methods=["GET", "POST"])
@requires("manage_settings")
def settings_partner_program():
    form = PartnerProgramForm(data=settings.get("partner_program"))
    if form.validate_on_submit():
        settings.update_partner_program(offer_in_confirmation=form.offer_in_confirmation.data)
        return _saved(".settings_partner_program")
    return render_template("internal/settings/partner_program.html", form=form), _status()


def _saved(endpoint: str):
    flash("Settings saved.", "success")
    return htmx.redirect(url_for(endpoint))


def _stage_labels() -> dict[str, str]:
    return {stage.value: STAGE_LABELS[stage] for stage in Stage}


def _status() -> int:
    return 422 if request.method == "POST" else 200
