"""Connection settings for internal admins: connections, test, field mappings, qualification rules, full sync."""
from __future__ import annotations

from flask import flash, render_template, request, url_for

from portal.web import htmx
from portal.web.guards import roles_required
from portal.blueprints.integrations.blueprint import bp
from portal.blueprints.integrations.deals import deal_options_form
from portal.blueprints.integrations.org_sync import org_sync_form
from portal.blueprints.integrations.forms import (ConnectionForm, MappingRowForm, MappingsForm, RuleForm,
                                                  mapping_row_data)
from portal.errors import DomainError
from portal.web.forms import Form
from portal.services import crm, statuses
from portal.services.crm import org_sync
from portal.services.crm import org_matching

@bp.get("/")
@roles_required("admin")
def connections_list():
    connections = crm.list_connections()
    return render_template("integrations/index.html", connections=connections,
                           labels={c.id: crm.provider_label(c) for c in connections},
                           progress={c.id: crm.progress(c) for c in connections})


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def connection_new():
    form = ConnectionForm()
    if form.validate_on_submit():
        try:
            connection = crm.create_connection(
                name=form.name.data, provider=form.provider.data, base_url=form.base_url.data, token=form.token.data,
                webhook_secret=form.webhook_secret.data, sync_trigger=form.sync_trigger.data,
                existing_policy=form.existing_policy.data, credentials=form.credentials())
        except DomainError as err:
            form.attach(err)
        else:
            flash(f"“{connection.name}” is saved. Test it, then check the field mappings.", "success")
            return htmx.redirect(url_for(".connection_edit", connection_id=connection.id))
    return render_template("integrations/connection.html", form=form, connection=None), _status(form)


@bp.route("/<int:connection_id>", methods=["GET", "POST"])
@roles_required("admin")
def connection_edit(connection_id: int):
    connection = crm.get_connection(connection_id)
    form = ConnectionForm(obj=connection).name_crm(crm.terms(connection))
    if form.validate_on_submit():
        try:
            crm.update_connection(connection, name=form.name.data, base_url=form.base_url.data,
                                  sync_trigger=form.sync_trigger.data, existing_policy=form.existing_policy.data,
                                  active=form.active.data, token=form.token.data,
                                  webhook_secret=form.webhook_secret.data, credentials=form.credentials(),
                                  referral_record=form.referral_record.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash("The connection is saved.", "success")
            return htmx.redirect(url_for(".connection_edit", connection_id=connection.id))
    return _connection_page(connection, form), _status(form)


@bp.post("/<int:connection_id>/test")
@roles_required("admin")
def connection_test(connection_id: int):
    connection = crm.get_connection(connection_id)
    if not Form().validate_on_submit():
        raise DomainError("The form expired; reload the page and try again.")
    result = crm.test_connection(connection)
    context = _connection_context(connection, ConnectionForm(obj=connection, formdata=None).name_crm(
        crm.terms(connection)))
    context["result"] = result
    return htmx.render_page("integrations/connection.html", "integrations/_partials/test_result.html", **context)


@bp.post("/<int:connection_id>/full-sync")
@roles_required("admin")
def full_sync_start(connection_id: int):
    connection = crm.get_connection(connection_id)
    error = None
    if not Form().validate_on_submit():
        error = "The form expired; reload the page and try again."
    else:
        try:
            crm.run_full_sync(connection)
        except DomainError as err:
            error = err.message
    if htmx.is_fragment_request():
        return render_template("integrations/_partials/full_sync.html", connection=connection,
                               progress=crm.progress(connection), error=error), 422 if error else 200
    flash(error or "The full sync is queued.", "error" if error else "success")
    return htmx.redirect(url_for(".connection_edit", connection_id=connection.id))


@bp.get("/<int:connection_id>/full-sync")
@roles_required("admin")
def full_sync_progress(connection_id: int):
    """Polled every second while a full sync runs; rendered without the trigger once it is done."""
    connection = crm.get_connection(connection_id)
    return htmx.render_page("integrations/connection.html", "integrations/_partials/full_sync.html",
                            **_connection_context(connection, ConnectionForm(obj=connection, formdata=None)))


@bp.route("/<int:connection_id>/mappings", methods=["GET", "POST"])
@roles_required("admin")
def mappings_edit(connection_id: int):
    connection = crm.get_connection(connection_id)
    if request.method == "POST":
        form = MappingsForm()
    else:
        rows = [mapping_row_data(m) for m in crm.mappings_of(connection)]
        form = MappingsForm(formdata=None, data={"rows": rows + [mapping_row_data()] * 2})
    if form.validate_on_submit():
        try:
            saved = form.mappings()
            crm.save_mappings(connection, saved)
        except DomainError as err:
            form.attach(err)
        else:
            flash("The field mappings are saved.", "success")
            if org_matching.offer_after_mappings(connection, {m.crm_object for m in saved}):
                flash("Next, match the portal's organizations with their Salesforce Accounts.", "info")
                return htmx.redirect(url_for(".matching", connection_id=connection.id))
            return htmx.redirect(url_for(".mappings_edit", connection_id=connection.id))
    return _mappings_page(connection, form), _status(form)


@bp.post("/<int:connection_id>/mappings/refresh")
@roles_required("admin")
def mappings_refresh(connection_id: int):
    """Load the CRM's property lists again (the mappings page itself never calls the CRM)."""
    connection = crm.get_connection(connection_id)
    if not Form().validate_on_submit():
        raise DomainError("The form expired; reload the page and try again.")
    result = crm.refresh_properties(connection)
    flash(result.message, "success" if result.ok else "error")
    return htmx.redirect(url_for(".mappings_edit", connection_id=connection.id))


@bp.get("/<int:connection_id>/mappings/row")
@roles_required("admin")
def mapping_row(connection_id: int):
    """One more empty mapping row (htmx "Add a row"); the next index comes back out of band."""
    connection = crm.get_connection(connection_id)
    index = max(0, min(request.args.get("next_index", 0, type=int), 500))
    row = MappingRowForm(data=mapping_row_data(), prefix=f"rows-{index}-")
    context = _mappings_context(connection, MappingsForm(formdata=None))
    row.crm_property.choices = {"": [("", "— choose —")], **context["property_choices"]}
    row.portal_field.choices = context["portal_fields"]
    return render_template("integrations/_partials/mapping_row_added.html", row=row, index=index, **context)


@bp.post("/<int:connection_id>/rules")
@roles_required("admin")
def rule_add(connection_id: int):
    connection = crm.get_connection(connection_id)
    rule_form = _rule_form(connection)
    if rule_form.validate_on_submit():
        try:
            crm.add_rule(connection, trigger=rule_form.trigger.data, values=rule_form.value_list(),
                         target_status=rule_form.target_status.data, crm_property=rule_form.property_name())
        except DomainError as err:
            rule_form.attach(err)
        else:
            flash("The rule is added.", "success")
            return htmx.redirect(url_for(".mappings_edit", connection_id=connection.id, _anchor="rules"))
    rows = [mapping_row_data(m) for m in crm.mappings_of(connection)]
    form = MappingsForm(formdata=None, data={"rows": rows + [mapping_row_data()] * 2})
    return _mappings_page(connection, form, rule_form=rule_form), 422


@bp.post("/<int:connection_id>/rules/<int:rule_id>/delete")
@roles_required("admin")
def rule_delete(connection_id: int, rule_id: int):
    connection = crm.get_connection(connection_id)
    if not Form().validate_on_submit():
        raise DomainError("The form expired; reload the page and try again.")
    crm.delete_rule(connection, rule_id)
    flash("The rule is deleted.", "success")
    return htmx.redirect(url_for(".mappings_edit", connection_id=connection.id, _anchor="rules"))


# ---- page context -----------------------------------------------------------------------------

def _status(form) -> int:
    return 422 if request.method == "POST" and (form.errors or form.form_errors) else 200


def _connection_context(connection, form) -> dict:
    return {"connection": connection, "form": form, "progress": crm.progress(connection), "result": None,
            "terms": crm.terms(connection),
            "error": None, "deal_form": deal_options_form(connection), "org_form": org_sync_form(connection),
            "org_sync_on": org_sync.settings_of(connection)["enabled"]}


def _connection_page(connection, form):
    return render_template("integrations/connection.html", **_connection_context(connection, form))


def _mappings_context(connection, form, rule_form=None) -> dict:
    """The CRM's property lists (cached on the connection: no call here), grouped by object, and the
    portal's fields and picklists."""
    objects = crm.mapping_objects(connection)
    properties = {crm_object: crm.crm_properties(connection, crm_object) for crm_object, _label in objects}
    load_error = None
    if not connection.crm_properties_at:
        load_error = (f"{crm.provider_label(connection)}'s property lists are not loaded yet; only mapped "
                      "properties are listed. Press “Refresh the property lists”.")
    saved = {(m.crm_object, m.crm_field) for m in crm.mappings_of(connection)}
    for crm_object, crm_field in saved:  # a mapped property stays choosable even if the CRM did not list it
        if not any(p["name"] == crm_field for p in properties.get(crm_object, [])):
            properties.setdefault(crm_object, []).append({"name": crm_field, "label": crm_field, "options": []})
    property_choices = {label: [(f"{crm_object}.{p['name']}", f"{p['label']} ({p['name']})")
                                for p in sorted(properties[crm_object], key=lambda p: p["label"].lower())]
                        for crm_object, label in objects}
    options = {f"{crm_object}.{p['name']}": [o for o in p.get("options") or [] if o]
               for crm_object, _label in objects for p in properties[crm_object]}
    groups = crm.portal_field_groups(connection)
    none = [("", "— none: always the default value —")]
    portal_fields = none + next(iter(groups.values())) if len(groups) == 1 else {"": none, **groups}
    for row in form.rows:
        row.crm_property.choices = {"": [("", "— choose —")], **property_choices}
        row.portal_field.choices = portal_fields
    rule_form = rule_form or _rule_form(connection, formdata=None)
    terms = crm.terms(connection)
    stages = _stages(options.get(f"deal.{terms.stage_property}"), connection)
    rule_form.stages.choices = stages
    rule_form.crm_property.choices = [("", "— choose —")] + [
        (p["name"], f"{p['label']} ({p['name']})") for p in sorted(properties["deal"], key=lambda p: p["label"].lower())]
    rule_form.contact_property.choices = [("", "— choose —")] + [
        (p["name"], f"{p['label']} ({p['name']})")
        for p in sorted(properties.get("contact", []), key=lambda p: p["label"].lower())]
    return {"connection": connection, "form": form, "rule_form": rule_form, "terms": terms,
            "property_choices": property_choices, "portal_fields": portal_fields, "property_options": options,
            "picklists": crm.portal_picklists(), "load_error": load_error, "rules": connection.rules,
            "properties_at": connection.crm_properties_at,
            "labels": statuses.labels(), "stage_labels": dict(stages)}


def _mappings_page(connection, form, rule_form=None):
    return render_template("integrations/mappings.html", **_mappings_context(connection, form, rule_form))


def _stages(options, connection) -> list[tuple[str, str]]:
    """Deal stages for the rule form: from the pipelines "Test connection" read (with labels), else the
    dealstage property's options."""
    found = [(s["id"], f"{s.get('label') or s['id']} ({p.get('label') or p['id']})")
             for p in (connection.account or {}).get("pipelines", []) for s in p.get("stages", [])]
    return found or [(o, o) for o in options or []]


def _rule_form(connection, **kwargs) -> RuleForm:
    form = RuleForm(prefix="rule", **kwargs).name_crm(crm.terms(connection))
    form.target_status.choices = [(s.key, s.label) for s in statuses.all_statuses()]
    form.crm_property.choices = form.contact_property.choices = [("", "— choose —")]
    return form
