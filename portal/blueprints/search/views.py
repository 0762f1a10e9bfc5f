"""Global search for every signed-in user: the whole page, or the navigation's type-ahead fragment."""
from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user, login_required

from portal.services import search
from portal.web import htmx

bp = Blueprint("search", __name__)


@bp.get("/search")
@login_required
def results():
    q = request.args.get("q", "").strip()[:200]
    if not q and htmx.is_fragment_request():
        return ""  # the box was emptied: so is the list under it
    # The type-ahead shows a few per kind; the page shows more.
    per_kind = 5 if htmx.is_fragment_request() else 20
    return htmx.render_page("search/results.html", "search/_partials/results.html",
                            q=q, groups=search.search(current_user, q, per_kind=per_kind))
