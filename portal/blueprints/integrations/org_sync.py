"""Organization sync's settings on a connection's page (admins): kinds, master, record types."""
from __future__ import annotations

from flask import flash, url_for

from portal.blueprints.integrations.blueprint import bp
from portal.blueprints.integrations.forms import OrgSyncForm
from portal.errors import DomainError, NotFound
from portal.services import crm
from portal.services.crm import org_sync
from portal.web import htmx
from portal.web.guards import requires


@bp.post("/<int:connection_id>/org-sync")
@requires("manage_integrations")
def org_sync_save(connection_id: int):
    connection = crm.get_connection(connection_id)
    form = org_sync_form(connection, formdata=True)
    if form is None:
        raise NotFound()  # a CRM without organization sync has no such settings
    if form.validate_on_submit():
        try:
            org_sync.save_settings(connection, kinds=form.kinds.data or [], master=form.master.data,
                                   record_types=form.record_types.data, record_type_ids=form.record_type_ids())
        except DomainError as err:
            flash(err.message, "error")
        else:
            flash("The organization sync settings are saved.", "success")
    else:
        flash("Choose the kinds and the master from the lists.", "error")
    return htmx.redirect(url_for(".connection_edit", connection_id=connection.id, _anchor="org-sync-title"))


def org_sync_form(connection, *, formdata: bool = False) -> OrgSyncForm | None:
    """The connection page's organization sync form, for a connection whose CRM has organization sync."""
    if not org_sync.available(connection):
        return None
    settings = org_sync.settings_of(connection)
    data = {"kinds": settings["kinds"], "master": settings["master"], "record_types": settings["record_types"],
            **settings["record_type_ids"]}
    form = OrgSyncForm(data=data) if formdata else OrgSyncForm(formdata=None, data=data)
    choices = org_sync.record_type_choices(connection)
    for slot in OrgSyncForm.SLOTS:
        sobject = org_sync.RECORD_TYPE_SLOTS[slot][0]
        getattr(form, slot).choices = [("", "— the org's default —")] + choices.get(sobject, [])
    return form
