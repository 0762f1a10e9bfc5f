"""The organization matching wizard (admins): confirm, master, match each organization, review, sync."""
from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from portal.blueprints.integrations.blueprint import bp
from portal.blueprints.integrations.forms import MatchConfirmForm, MatchDecisionForm, MatchMasterForm
from portal.errors import DomainError, NotFound
from portal.services import crm
from portal.services.crm import org_matching
from portal.web import htmx
from portal.web.forms import Form
from portal.web.guards import requires

EXPIRED = "The form expired; reload the page and try again."


@bp.app_template_global("matches_organizations")
def matches_organizations(connection) -> bool:
    """May the connection's pages offer the matching wizard (its CRM has Accounts to match)?"""
    return org_matching.supports(connection)


@bp.get("/<int:connection_id>/org-matching")
@requires("manage_integrations")
def matching(connection_id: int):
    """Where the admin left off: the step of the run under way, the sync of the last one, or step 1."""
    connection = _connection(connection_id)
    run = org_matching.current_run(connection) or org_matching.latest_run(connection)
    endpoint = {"confirm": ".matching_confirm", "master": ".matching_master", "match": ".matching_rows",
                "sync": ".matching_sync"}[org_matching.step_of(run)]
    return redirect(url_for(endpoint, connection_id=connection.id))


@bp.route("/<int:connection_id>/org-matching/confirm", methods=["GET", "POST"])
@requires("manage_integrations")
def matching_confirm(connection_id: int):
    connection = _connection(connection_id)
    form = MatchConfirmForm()
    if form.validate_on_submit():
        try:
            org_matching.start(connection, by=current_user, confirmed=form.confirmed.data)
            return htmx.redirect(url_for(".matching_master", connection_id=connection.id))
        except DomainError as err:
            form.attach(err)
    return _page("confirm.html", connection, form=form, run=org_matching.current_run(connection)), _status(form)


@bp.route("/<int:connection_id>/org-matching/master", methods=["GET", "POST"])
@requires("manage_integrations")
def matching_master(connection_id: int):
    connection = _connection(connection_id)
    run = _run(connection)
    form = MatchMasterForm(data={"master": org_matching.master_of(connection, run)})
    if form.validate_on_submit():
        try:
            org_matching.choose_master(run, master=form.master.data)
            return htmx.redirect(url_for(".matching_rows", connection_id=connection.id))
        except DomainError as err:
            form.attach(err)
    return _page("master.html", connection, run=run, form=form), _status(form)


@bp.get("/<int:connection_id>/org-matching/organizations")
@requires("manage_integrations")
def matching_rows(connection_id: int):
    """Step 3: a page of organizations with their suggestions; `select` + `q` search Accounts for one
    row without JavaScript (htmx asks `matching_search` as the admin types)."""
    connection = _connection(connection_id)
    run = _run(connection, step="match")
    show = request.args.get("show", "all") if request.args.get("show") in org_matching.FILTERS else "all"
    page = org_matching.rows_page(run, page=request.args.get("page", 1, type=int), show=show)
    search = _search_for(run, request.args.get("select", type=int), request.args.get("q", ""))
    return htmx.render_page("integrations/org_matching/match.html", "integrations/org_matching/_partials/rows.html",
                            **_rows_context(connection, run, page, show, search=search))


@bp.post("/<int:connection_id>/org-matching/organizations/<int:organization_id>")
@requires("manage_integrations")
def matching_decide(connection_id: int, organization_id: int):
    """One decision, saved at once; htmx gets the row back, a plain form the page it was on."""
    connection = _connection(connection_id)
    run = _run(connection, step="match")
    form = MatchDecisionForm()
    error = None
    if not form.validate_on_submit():
        error = EXPIRED if "csrf_token" in form.errors else "Choose Link, an Account, Create or Do Not Sync."
    else:
        try:
            org_matching.decide(run, organization_id, decision=form.decision.data, crm_id=form.crm_id.data,
                                by=current_user)
        except NotFound:
            raise
        except DomainError as err:
            error = err.message
    if htmx.is_fragment_request():
        row = org_matching.row_for(run, organization_id)
        context = _row_context(connection, run, row, show=form.show.data or "all", page_number=form.page.data or 1)
        return htmx.trigger(_render("integrations/org_matching/_partials/row.html", error=error, **context),
                            "match-counts"), 422 if error else 200
    flash(error or "Saved.", "error" if error else "success")
    return htmx.redirect(url_for(".matching_rows", connection_id=connection.id, page=form.page.data or 1,
                                 show=form.show.data or "all", _anchor=f"org-{organization_id}"))


@bp.get("/<int:connection_id>/org-matching/organizations/<int:organization_id>/accounts")
@requires("manage_integrations")
def matching_search(connection_id: int, organization_id: int):
    """"Please select" as the admin types: the flagged Accounts whose name contains `q`."""
    connection = _connection(connection_id)
    run = _run(connection, step="match")
    row = org_matching.row_for(run, organization_id)
    search = _search_for(run, organization_id, request.args.get("q", ""))
    return render_template("integrations/org_matching/_partials/found.html", connection=connection, row=row,
                           search=search, show=request.args.get("show", "all"),
                           page_number=request.args.get("page", 1, type=int))


@bp.get("/<int:connection_id>/org-matching/counts")
@requires("manage_integrations")
def matching_counts(connection_id: int):
    connection = _connection(connection_id)
    run = _run(connection, step="match")
    return render_template("integrations/org_matching/_partials/counts.html", connection=connection,
                           counts=org_matching.counts(run))


@bp.post("/<int:connection_id>/org-matching/refresh")
@requires("manage_integrations")
def matching_refresh(connection_id: int):
    connection = _connection(connection_id)
    run = _run(connection, step="match")
    if not Form().validate_on_submit():
        raise DomainError(EXPIRED)
    org_matching.refresh_accounts(run)
    flash(run.fetch_error or f"{org_matching.account_count(run)} flagged Accounts read from Salesforce.",
          "error" if run.fetch_error else "success")
    return htmx.redirect(url_for(".matching_rows", connection_id=connection.id))


@bp.route("/<int:connection_id>/org-matching/review", methods=["GET", "POST"])
@requires("manage_integrations")
def matching_review(connection_id: int):
    """Step 4: the counts; posting starts the initial sync."""
    connection = _connection(connection_id)
    run = _run(connection, step="match")
    form = Form()
    if form.validate_on_submit():
        try:
            org_matching.finish(run, by=current_user)
            return htmx.redirect(url_for(".matching_sync", connection_id=connection.id))
        except DomainError as err:
            form.attach(err)
    return _page("review.html", connection, run=run, form=form, counts=org_matching.counts(run)), _status(form)


@bp.get("/<int:connection_id>/org-matching/sync")
@requires("manage_integrations")
def matching_sync(connection_id: int):
    """The initial sync's progress (polled while it runs) and its errors."""
    connection = _connection(connection_id)
    run = org_matching.latest_run(connection)
    if run is None or run.sync_started_at is None:
        return redirect(url_for(".matching", connection_id=connection.id))
    progress = crm.progress(connection)
    # Until the sync's own start is recorded, the fields may still tell of an earlier full sync.
    finished = progress.finished_at is not None and progress.finished_at >= run.sync_started_at
    context = {"connection": connection, "run": run, "progress": progress, "polling": not finished,
               "errors": org_matching.sync_errors(connection, run), "counts": org_matching.counts(run),
               "step": "sync"}
    return htmx.render_page("integrations/org_matching/sync.html",
                            "integrations/org_matching/_partials/sync_progress.html", **context)


# ---- helpers ------------------------------------------------------------------------------------

def _connection(connection_id: int):
    connection = crm.get_connection(connection_id)
    if not org_matching.supports(connection):
        raise NotFound()
    return connection


def _run(connection, *, step: str | None = None):
    """The run under way; without one (step 1 not confirmed) the admin is sent to step 1."""
    run = org_matching.current_run(connection)
    if run is None or (step == "match" and run.master is None):
        target = ".matching_confirm" if run is None else ".matching_master"
        abort(htmx.redirect(url_for(target, connection_id=connection.id)))
    return run


def _search_for(run, organization_id: int | None, text: str) -> dict | None:
    """The Accounts found for one row's "Please select" (or why none could be)."""
    if not organization_id:
        return None
    text = (text or "").strip()[:80]
    try:
        return {"organization_id": organization_id, "q": text, "accounts": org_matching.search(run, text),
                "error": None}
    except DomainError as err:
        return {"organization_id": organization_id, "q": text, "accounts": [], "error": err.message}


def _rows_context(connection, run, page, show, *, search=None) -> dict:
    rows = page.items
    accounts = org_matching.accounts_of(run, [r.suggested_crm_id for r in rows] + [r.crm_id for r in rows])
    return {"connection": connection, "run": run, "page": page, "rows": rows, "show": show, "accounts": accounts,
            "mail_domains": org_matching.email_domains(r.organization_id for r in rows), "search": search,
            "counts": org_matching.counts(run), "account_count": org_matching.account_count(run),
            "step": "match", "filters": org_matching.FILTERS, "page_number": page.page}


def _row_context(connection, run, row, *, show: str, page_number: int) -> dict:
    return {"connection": connection, "run": run, "row": row, "show": show, "page_number": page_number,
            "accounts": org_matching.accounts_of(run, [row.suggested_crm_id, row.crm_id]),
            "mail_domains": org_matching.email_domains([row.organization_id]), "search": None}


def _render(template: str, **context):
    return make_response(render_template(template, **context))


def _page(template: str, connection, **context):
    step = template.split(".")[0]
    return render_template(f"integrations/org_matching/{template}", connection=connection, step=step, **context)


def _status(form) -> int:
    return 422 if request.method == "POST" and (form.errors or form.form_errors) else 200
