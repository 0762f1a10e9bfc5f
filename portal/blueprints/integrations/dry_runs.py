"""The sync dry run of a connection (internal admins): start it, watch it, read what the sync would do."""
from __future__ import annotations

from flask import abort, request, url_for
from flask_login import current_user

from portal.blueprints.integrations.blueprint import bp
from portal.errors import DomainError
from portal.services import crm
from portal.web import htmx
from portal.web.forms import Form
from portal.web.guards import requires


@bp.post("/<int:connection_id>/dry-run")
@requires("manage_integrations")
def dry_run_start(connection_id: int):
    connection = crm.get_connection(connection_id)
    if not Form().validate_on_submit():
        raise DomainError("The form expired; reload the page and try again.")
    crm.start_dry_run(connection, by=current_user)
    return htmx.redirect(url_for(".dry_run_page", connection_id=connection.id))


@bp.get("/<int:connection_id>/dry-run")
@requires("manage_integrations")
def dry_run_page(connection_id: int):
    """The latest dry run: polled every second while it runs; then its counts and one page of records."""
    connection = crm.get_connection(connection_id)
    view = crm.dry_run_view(connection)
    action = request.args.get("action") or None
    try:
        items = crm.dry_run_items(view.run, action=action, page=request.args.get("page", 1, type=int)) \
            if view.run is not None and not view.run.running else None
    except DomainError:
        abort(404)
    return htmx.render_page("integrations/dry_run.html", "integrations/_partials/dry_run.html",
                            connection=connection, view=view, items=items, action=action,
                            actions=crm.DRY_RUN_ACTIONS, label=crm.provider_label(connection))
