"""The audit trail page (admins): filters and a CSV export; and the one audited action with no form
of its own elsewhere, resetting another user's second factor."""
from __future__ import annotations

from datetime import date

from flask import Response, flash, render_template, request, url_for
from flask_login import current_user

from portal.blueprints.internal.blueprint import bp
from portal.web import htmx
from portal.web.guards import requires
from portal.services import access, audit, mfa


def _filters() -> audit.Filters:
    def day(name: str) -> date | None:
        try:
            return date.fromisoformat(request.args.get(name, ""))
        except ValueError:
            return None

    return audit.Filters(entity_type=request.args.get("entity_type", "")[:60], actor=request.args.get("actor", "")[:254],
                         entity_id=request.args.get("entity_id", "")[:64], since=day("since"), until=day("until"))


@bp.get("/audit")
@requires("view_audit")
def audit_list():
    filters = _filters()
    page = audit.page(filters, page=max(1, min(request.args.get("page", 1, type=int) or 1, 10_000)))
    return htmx.render_page("internal/audit/list.html", "internal/audit/_partials/rows.html", page=page,
                            filters=filters, entity_types=audit.entity_types(), args=request.args.to_dict())


@bp.get("/audit.csv")
@requires("view_audit")
def audit_csv():
    return Response(audit.export_csv(_filters()), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=audit-trail.csv"})


@bp.post("/users/<int:user_id>/mfa-reset")
@requires("manage_users")
def user_mfa_reset(user_id: int):
    user = access.managed_user_for(current_user, user_id)
    mfa.reset(user, by=current_user)
    flash(f"{user.name}'s two-step sign-in is reset: they set it up again at their next sign-in.", "success")
    return htmx.redirect(url_for(".users_list"))
