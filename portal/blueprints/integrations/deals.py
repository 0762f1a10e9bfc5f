"""Deal registrations and the CRM: the registration page's CRM panel (Sync now, Unlink), the
connection's deal options (admins), and the import of CRM Opportunities as registrations."""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_login import current_user

from portal.blueprints.integrations.blueprint import bp
from portal.blueprints.integrations.forms import DealOptionsForm, ImportForm, ImportSearchForm
from portal.blueprints.integrations.records import record_action
from portal.errors import DomainError
from portal.services import access, crm, deals, organizations
from portal.web import htmx
from portal.web.guards import roles_required


@bp.get("/deals/<int:deal_id>")
def deal_panel(deal_id: int):
    """The CRM panel of a registration: whole page without JavaScript, the fragment when it polls itself."""
    deal = access.deal_for(current_user, deal_id)
    return htmx.render_page("integrations/deal.html", "integrations/_partials/referral_panel.html", deal=deal,
                            crm_panel=crm.deal_panel(deal))


@bp.post("/deals/<int:deal_id>/sync")
def deal_sync(deal_id: int):
    deal = access.deal_for(current_user, deal_id)
    return record_action(lambda: crm.sync_deal_now(deal), "Sync requested: the CRM is updated in a moment.",
                         lambda: crm.deal_panel(deal), url_for("internal.deal_detail", deal_id=deal.id))


@bp.post("/deals/<int:deal_id>/unlink")
def deal_unlink(deal_id: int):
    deal = access.deal_for(current_user, deal_id)
    return record_action(lambda: crm.unlink_deal(deal),
                         "Unlinked: later syncs leave the CRM record alone until someone presses Sync now.",
                         lambda: crm.deal_panel(deal), url_for("internal.deal_detail", deal_id=deal.id))


@bp.post("/<int:connection_id>/deal-options")
@roles_required("admin")
def deal_options_save(connection_id: int):
    connection = crm.get_connection(connection_id)
    form = DealOptionsForm()
    if form.validate_on_submit():
        try:
            crm.save_deal_options(connection, events=form.deal_events.data or [],
                                  contact_match=form.contact_match.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash("The deal registration options are saved.", "success")
            return htmx.redirect(url_for(".connection_edit", connection_id=connection.id))
    flash(" ".join(form.form_errors) or "Choose the events from the list.", "error")
    return htmx.redirect(url_for(".connection_edit", connection_id=connection.id))


def deal_options_form(connection) -> DealOptionsForm | None:
    """The connection page's deal options form, for a connection that syncs registrations."""
    if not crm.syncs_deals(connection):
        return None
    options = crm.deal_options(connection)
    return DealOptionsForm(formdata=None, data={"deal_events": options["events"],
                                                "contact_match": options["contact_match"]})


@bp.route("/<int:connection_id>/import", methods=["GET", "POST"])
def deal_import(connection_id: int):
    """Search the CRM's Opportunities and import the chosen ones as registrations of a partner."""
    connection = crm.get_connection(connection_id)
    search = ImportSearchForm(request.args)
    form = _import_form()
    found, error, notice, status = [], None, None, 200
    try:
        options = deals.crm_search_options(connection)
        search.stage.choices += options["stages"]
        search.owner.choices += options["owners"]
        if request.method == "POST" and form.validate_on_submit():
            made = deals.import_records(connection, form.crm_ids.data, partner_org_id=form.partner_org_id.data,
                                        by=current_user)
            notice = (f"Imported {len(made)} deal registration{'s' if len(made) != 1 else ''}: "
                      + ", ".join(d.number for d in made) + ".")
            if not htmx.is_fragment_request():
                flash(notice, "success")
                return htmx.redirect(url_for(".deal_import", connection_id=connection.id, **request.args))
            form = _import_form(formdata=None)   # the results again, the imported ones now linked
        if search.validate():
            found = deals.search_crm(connection, _filters(search), options=options)
        status = 422 if (request.method == "POST" and not notice) or search.errors else 200
    except DomainError as err:
        (form if request.method == "POST" else search).attach(err)
        error, status = err.message, 422
    return htmx.render_page("integrations/import.html", "integrations/_partials/import_results.html",
                            connection=connection, search=search, form=form, found=found, error=error,
                            notice=notice), status


def _import_form(**kwargs) -> ImportForm:
    form = ImportForm(**kwargs)
    form.partner_org_id.choices = [(0, "— Choose a partner —")] + [
        (o.id, o.name) for o in organizations.partners(active_only=True)]
    return form


def _filters(search: ImportSearchForm) -> deals.ImportFilters:
    return deals.ImportFilters(name=(search.name.data or "").strip(), stage=search.stage.data or "",
                               owner=search.owner.data or "", close_from=search.close_from.data,
                               close_to=search.close_to.data)
