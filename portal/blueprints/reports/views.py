"""The report page (any entity, any state in the URL), saved views and exports, for every signed-in user.

What a user sees is decided by the report engine through services/access.py: partners their own
organization's records, internal users all of them.
"""
from __future__ import annotations

import tempfile

from flask import Blueprint, Response, abort, current_app, flash, redirect, request, send_file, stream_with_context, url_for
from flask_login import current_user

from portal.blueprints.reports.forms import ExportForm, PinForm, SavedViewForm
from portal.errors import DomainError
from portal.services import reporting
from portal.services.reporting import ReportState, exports, saved_views
from portal.services.reporting import charts as report_charts
from portal.services.reporting.query import Filter
from portal.web import charts as chart_geometry, htmx

bp = Blueprint("reports", __name__)


@bp.before_request
def _signed_in():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return None


@bp.app_context_processor
def _navigation():
    def pinned_views():
        return saved_views.pinned(current_user) if current_user.is_authenticated else []
    return {"pinned_views": pinned_views}


@bp.get("/")
def index():
    return redirect(url_for(".report", entity="referrals"))


@bp.get("/<entity>")
def report(entity: str):
    state = ReportState.from_args(entity, request.args.to_dict(flat=False))
    current = _current_view(request.args.get("view", type=int))
    return htmx.render_page("reports/report.html", "reports/_partials/report.html",
                            **_context(reporting.build(current_user, entity, state), current))


@bp.post("/<entity>/export")
def export(entity: str):
    form = ExportForm()
    if not form.validate_on_submit():
        abort(400)
    report = reporting.build(current_user, entity, ReportState.from_query(entity, form.query.data))
    fmt = form.format.data
    if report.count() > exports.inline_limit():
        job = exports.start(current_user, entity=entity, query=form.query.data, fmt=fmt)
        return htmx.redirect(url_for(".export_status", export_id=job.id))
    mimetype, _ = exports.FORMATS[fmt]
    name = exports.file_name(report, fmt)
    if fmt == "csv":
        response = Response(stream_with_context(exports.csv_chunks(report)), mimetype=mimetype)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    # A workbook is a zip that is only valid once finished: write it to a temp file, then send it.
    spool = tempfile.TemporaryFile()
    exports.write_xlsx(report, spool)
    spool.seek(0)
    return send_file(spool, mimetype=mimetype, as_attachment=True, download_name=name)


@bp.get("/exports/<int:export_id>")
def export_status(export_id: int):
    job = exports.export_for(current_user, export_id)
    return htmx.render_page("reports/export.html", "reports/_partials/export_progress.html", job=job)


@bp.get("/exports/<int:export_id>/download")
def export_download(export_id: int):
    try:
        path, name, mimetype = exports.download(current_user, export_id)
    except DomainError as err:
        return htmx.render_page("reports/export.html", "reports/_partials/export_progress.html",
                                job=exports.export_for(current_user, export_id), expired=err.message), 410
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=name)


# ---- saved views ----------------------------------------------------------------------------

@bp.get("/views/<int:view_id>")
def view_open(view_id: int):
    view = saved_views.view_for(current_user, view_id)
    query = f"{view.query}&view={view.id}" if view.query else f"view={view.id}"
    return redirect(url_for(".report", entity=view.entity) + "?" + query)


@bp.post("/<entity>/views")
def view_create(entity: str):
    reporting.entity(entity)
    form = _view_form()
    if form.validate_on_submit():
        try:
            view = saved_views.save(current_user, entity=entity, name=form.name.data, query=form.query.data or "",
                                    sharing=form.sharing.data, pin=form.pin.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash(f"The view “{view.name}” is saved.", "success")
            return htmx.redirect(url_for(".view_open", view_id=view.id))
    report = reporting.build(current_user, entity, ReportState.from_query(entity, form.query.data or ""))
    return htmx.render_page("reports/report.html", "reports/_partials/report.html",
                            **_context(report, None, save_form=form)), 422


@bp.post("/views/<int:view_id>")
def view_update(view_id: int):
    view = saved_views.own_view_for(current_user, view_id)
    form = _view_form(prefix="edit")
    if form.validate_on_submit():
        try:
            saved_views.save(current_user, entity=view.entity, name=form.name.data,
                             query=form.query.data if form.query.data is not None else view.query,
                             sharing=form.sharing.data, pin=form.pin.data, view=view)
        except DomainError as err:
            form.attach(err)
        else:
            flash(f"The view “{view.name}” is updated.", "success")
            return htmx.redirect(url_for(".view_open", view_id=view.id))
    report = reporting.build(current_user, view.entity, ReportState.from_query(view.entity, view.query))
    return htmx.render_page("reports/report.html", "reports/_partials/report.html",
                            **_context(report, view, edit_form=form)), 422


@bp.post("/views/<int:view_id>/delete")
def view_delete(view_id: int):
    view = saved_views.own_view_for(current_user, view_id)
    if not PinForm().validate_on_submit():
        abort(400)
    entity, name = view.entity, view.name
    saved_views.delete(current_user, view)
    flash(f"The view “{name}” is deleted.", "success")
    return htmx.redirect(url_for(".report", entity=entity))


@bp.post("/views/<int:view_id>/pin")
def view_pin(view_id: int):
    view = saved_views.view_for(current_user, view_id)
    form = PinForm()
    if not form.validate_on_submit():
        abort(400)
    saved_views.set_pinned(current_user, view, form.pin.data == "1")
    return htmx.redirect(url_for(".view_open", view_id=view.id))


# ---- helpers --------------------------------------------------------------------------------

def _view_form(**kwargs) -> SavedViewForm:
    form = SavedViewForm(**kwargs)
    form.sharing.choices = saved_views.sharing_choices(current_user)
    return form


def _current_view(view_id: int | None):
    if not view_id:
        return None
    try:
        return saved_views.view_for(current_user, view_id)
    except DomainError:
        return None


def _context(report, current, *, save_form: SavedViewForm | None = None, edit_form: SavedViewForm | None = None):
    query = report.state.query_string(page=False)
    edit_form = edit_form or (_view_form(prefix="edit", name=current.name, sharing=current.sharing, query=query,
                                         pin=saved_views.is_pinned(current_user, current))
                              if current is not None and current.owner_id == current_user.id else None)
    charts = report_charts.referral_charts(report)
    return dict(
        charts=charts, chart_geometry=_geometry(charts) if charts else None,
        report=report, page=report.page(), totals=report.totals(), query=query, current_view=current,
        entities=reporting.available_entities(current_user),
        views=saved_views.list_for(current_user, report.entity.key),
        pinned=saved_views.is_pinned(current_user, current) if current is not None else False,
        filter_rows=[*report.state.filters, Filter(field="", op="")],
        save_form=save_form or _view_form(query=query), edit_form=edit_form,
        export_form=ExportForm(query=query), pin_form=PinForm(),
        all_fields=list(report.fields.values()),
    )


def _geometry(charts) -> dict:
    return {"months": chart_geometry.grouped_bars(charts.months, ["open", "won", "lost"]),
            "commission": {currency: chart_geometry.grouped_bars([(m, {"amount": v}) for m, v in rows], ["amount"])
                           for currency, rows in charts.commission_months.items()}}
