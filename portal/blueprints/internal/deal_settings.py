"""Admin settings for deal registrations (protection, conflicts, two-tier distribution) and lead rules."""
from __future__ import annotations

from flask import flash, render_template, request, url_for

from portal.blueprints.internal.blueprint import bp
from portal.blueprints.internal.forms import DealSettingsForm, LeadHandlingForm, LeadRuleForm
from portal.errors import DomainError
from portal.services import custom_fields, lead_distribution, settings
from portal.web import htmx
from portal.web.guards import requires


@bp.route("/settings/deals", methods=["GET", "POST"])
@requires("manage_settings")
def settings_deals():
    current, dist = settings.get("deals"), settings.get("distribution")
    form = DealSettingsForm(data={**current, "distribution_enabled": dist["enabled"], "distribution_choice": dist["choice"],
                                  "distribution_required": dist["required"], "distribution_allow_hide": dist["allow_hide"],
                                  "distribution_on_behalf": dist["on_behalf"]})
    if form.validate_on_submit():
        try:
            settings.update_deals(protection_days=form.protection_days.data, warn_days_before=form.warn_days_before.data,
                                  conflict_policy=form.conflict_policy.data)
            settings.update_distribution(enabled=form.distribution_enabled.data, choice=form.distribution_choice.data,
                                         required=form.distribution_required.data,
                                         allow_hide=form.distribution_allow_hide.data,
                                         on_behalf=form.distribution_on_behalf.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash("Settings saved.", "success")
            return htmx.redirect(url_for(".settings_deals"))
    return render_template("internal/settings/deals.html", form=form), 422 if request.method == "POST" else 200


@bp.route("/settings/lead-rules", methods=["GET", "POST"])
@requires("manage_settings")
def settings_lead_rules():
    form = _rule_form(prefix="rule")
    handling = LeadHandlingForm(prefix="handling", formdata=None, data=settings.get("leads"))
    if form.validate_on_submit():
        try:
            rule = lead_distribution.save_rule(
                name=form.name.data, tiers=form.tiers.data, countries=form.split(form.countries.data),
                partner_countries=form.split(form.partner_countries.data), field_key=form.field_key.data or None,
                field_values=form.split(form.field_values.data))
        except DomainError as err:
            form.attach(err)
        else:
            flash(f"The rule “{rule.name}” hands out leads from now on.", "success")
            return htmx.redirect(url_for(".settings_lead_rules"))
    return _rules_page(form, handling), 422 if request.method == "POST" else 200


@bp.post("/settings/lead-rules/handling")
@requires("manage_settings")
def settings_lead_handling():
    handling = LeadHandlingForm(prefix="handling")
    if handling.validate_on_submit():
        try:
            settings.update_lead_handling(reminder_hours=handling.reminder_hours.data,
                                          auto_reassign=handling.auto_reassign.data)
        except DomainError as err:
            handling.attach(err)
        else:
            flash("Settings saved.", "success")
            return htmx.redirect(url_for(".settings_lead_rules"))
    return _rules_page(_rule_form(prefix="rule", formdata=None), handling), 422


@bp.post("/settings/lead-rules/<int:rule_id>/active")
@requires("manage_settings")
def settings_lead_rule_active(rule_id: int):
    rule = lead_distribution.get_rule(rule_id)
    lead_distribution.set_rule_active(rule, request.form.get("active") == "1")
    flash(f"“{rule.name}” is {'on' if rule.active else 'off'}.", "success")
    return htmx.redirect(url_for(".settings_lead_rules"))


def _rule_form(**kwargs) -> LeadRuleForm:
    form = LeadRuleForm(**kwargs)
    form.field_key.choices = [("", "— Any —")] + [(f.key, f.label) for f in custom_fields.active()
                                                    if f.kind == "select"]
    return form


def _rules_page(form, handling):
    labels = {f.key: f.label for f in custom_fields.list_all()}
    return render_template("internal/settings/lead_rules.html", form=form, handling=handling,
                           rules=lead_distribution.list_rules(), field_labels=labels,
                           eligible={rule.id: lead_distribution.eligible(rule) for rule in lead_distribution.list_rules()})
