"""Partner referral links: create, share (short URL, QR code, embed snippet), switch off and on."""
from __future__ import annotations

import io

import segno
from flask import abort, flash, make_response, render_template, request, url_for
from flask_login import current_user

from portal.web import htmx
from portal.blueprints.partner.blueprint import bp
from portal.blueprints.partner.forms import LinkActiveForm, LinkForm
from portal.errors import DomainError
from portal.services import access, links, statuses
from portal.urls import absolute_url


@bp.route("/links", methods=["GET", "POST"])
def links_list():
    form = LinkForm()
    if form.validate_on_submit():
        try:
            link = links.create(by=current_user, campaign=form.campaign.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash(f"Your link for “{link.campaign}” is ready to share.", "success")
            return htmx.redirect(url_for(".link_detail", link_id=link.id))
    return render_template("partner/links/list.html", rows=links.list_for(current_user), form=form,
                           short_url=_short_url), 422 if request.method == "POST" else 200


@bp.get("/links/<int:link_id>")
def link_detail(link_id: int):
    link = access.link_for(current_user, link_id)
    return render_template("partner/links/detail.html", link=link, won=links.won_counts([link.id]).get(link.id, 0),
                           url=_short_url(link), embed_url=absolute_url("public.embed", code=link.code),
                           referrals=links.recent_referrals(link, current_user), labels=statuses.labels())


@bp.post("/links/<int:link_id>/active")
def link_active(link_id: int):
    link = access.link_for(current_user, link_id)
    form = LinkActiveForm()
    if form.validate_on_submit():
        links.set_active(link, active=form.active.data == "1")
    if htmx.is_fragment_request():
        row = links.LinkRow(link, links.won_counts([link.id]).get(link.id, 0))
        return render_template("partner/links/_partials/row.html", row=row, short_url=_short_url)
    flash("The link is active again." if link.active else "The link is switched off: its page now answers "
          "“not found”.", "success")
    return htmx.redirect(url_for(".link_detail", link_id=link.id))


@bp.get("/links/<int:link_id>/qr.<kind>")
def link_qr(link_id: int, kind: str):
    link = access.link_for(current_user, link_id)
    if kind not in {"svg", "png"}:
        abort(404)
    buffer = io.BytesIO()
    segno.make(_short_url(link), error="m").save(buffer, kind=kind, scale=10 if kind == "png" else 4, border=2,
                                                 dark="#111827")
    response = make_response(buffer.getvalue())
    response.headers["Content-Type"] = "image/svg+xml" if kind == "svg" else "image/png"
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="referral-link-{link.id}.{kind}"'
    return response


def _short_url(link) -> str:
    return absolute_url("public.landing", code=link.code)
