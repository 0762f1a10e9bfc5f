"""The CRM on a record's page (panel, Sync now, Unlink) and the integration log, for internal users."""
from __future__ import annotations

from datetime import date, datetime, time, timezone

from flask import flash, render_template, request, url_for
from flask_login import current_user

from portal.web import htmx, integration_log
from portal.blueprints.integrations.blueprint import bp
from portal.errors import DomainError
from portal.web.forms import Form
from portal.services import access, crm

LOG_DIRECTIONS = (("push", "Push"), ("pull", "Pull"))
LOG_STATUSES = (("ok", "OK"), ("error", "Error"), ("retry", "Retried"), ("skipped", "Skipped"))


@bp.get("/referrals/<int:referral_id>")
def referral_panel(referral_id: int):
    """The CRM panel of a referral: whole page without JavaScript, the fragment when it polls itself."""
    referral = access.referral_for(current_user, referral_id)
    return htmx.render_page("integrations/referral.html", "integrations/_partials/referral_panel.html",
                            referral=referral, crm_panel=crm.record_panel(referral))


@bp.post("/referrals/<int:referral_id>/sync")
def referral_sync(referral_id: int):
    referral = access.referral_for(current_user, referral_id)
    return _record_action(referral, lambda: crm.sync_now(referral), "Sync requested: the CRM record is updated in a moment.")


@bp.post("/referrals/<int:referral_id>/unlink")
def referral_unlink(referral_id: int):
    referral = access.referral_for(current_user, referral_id)
    return _record_action(referral, lambda: crm.unlink(referral),
                          "Unlinked: later syncs leave the CRM record alone until someone presses Sync now.")


def _record_action(referral, action, done_message):
    return record_action(action, done_message, lambda: crm.record_panel(referral),
                         url_for("internal.referral_detail", referral_id=referral.id), referral=referral)


def record_action(action, done_message, panel, back_url, **context):
    """Call the service; answer with the refreshed CRM panel (htmx) or go back to the record's page."""
    error = None
    if not Form().validate_on_submit():
        error = "The form expired; reload the page and try again."
    else:
        try:
            action()
        except DomainError as err:
            error = err.message
    if htmx.is_fragment_request():
        return render_template("integrations/_partials/referral_panel.html", crm_panel=panel(),
                               message=error or done_message, message_kind="error" if error else "success",
                               **context), 422 if error else 200
    flash(error or done_message, "error" if error else "success")
    return htmx.redirect(back_url)


@bp.get("/log")
def log():
    filters = _log_filters()
    page = crm.log_page(filters, page=request.args.get("page", 1, type=int))
    connections = {c.id: c for c in crm.list_connections()}
    numbers = crm.record_numbers(page.items)
    return htmx.render_page("integrations/log.html", "integrations/_partials/log_rows.html",
                            page=page, filters=filters, args=_log_args(filters), connections=connections,
                            runs=integration_log.runs(page.items, connections=connections, numbers=numbers),
                            directions=LOG_DIRECTIONS, log_statuses=LOG_STATUSES)


def _day(name: str) -> datetime | None:
    """A date argument as the start of that day in UTC (the log's `until` includes the whole day)."""
    try:
        return datetime.combine(date.fromisoformat(request.args.get(name, "")), time.min, timezone.utc)
    except ValueError:
        return None


def _log_filters() -> crm.LogFilters:
    direction, status = request.args.get("direction", ""), request.args.get("status", "")
    return crm.LogFilters(connection_id=request.args.get("connection_id", type=int),
                          record=request.args.get("record", "").strip()[:40] or None,
                          direction=direction if direction in dict(LOG_DIRECTIONS) else None,
                          status=status if status in dict(LOG_STATUSES) else None,
                          since=_day("date_from"), until=_day("date_to"))


def _log_args(filters: crm.LogFilters) -> dict:
    """The filters as query arguments, for pagination links."""
    args = {"connection_id": filters.connection_id or "", "record": filters.record or "",
            "direction": filters.direction or "", "status": filters.status or "",
            "date_from": filters.since.date().isoformat() if filters.since else "",
            "date_to": filters.until.date().isoformat() if filters.until else ""}
    return {k: v for k, v in args.items() if v}
