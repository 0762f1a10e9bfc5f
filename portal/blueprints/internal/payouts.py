"""Payout batches for admins and managers: select payable commissions, create, export, mark paid, cancel."""
from __future__ import annotations

import csv
import io

from flask import Response, flash, render_template, request, url_for
from flask_login import current_user

from portal.blueprints.internal.blueprint import bp
from portal.blueprints.internal.forms import PayoutPaidForm, PayoutSelectForm
from portal.errors import DomainError
from portal.services import payees, payouts
from portal.services.reporting import exports
from portal.web import htmx
from portal.web.guards import requires

@bp.route("/payouts", methods=["GET", "POST"])
@requires("manage_payouts")
def payouts_list():
    # The selection is a GET form (a URL) until "Create batch" posts it.
    form = PayoutSelectForm() if request.method == "POST" else PayoutSelectForm(request.args, meta={"csrf": False})
    form.partner_ids.choices = [(org.id, org.name) for org in payouts.partners()]
    if request.method == "GET" and not request.args.get("currency"):
        form.currency.data = (payouts.currencies_payable() or ["USD"])[0]
    if request.method == "POST" and form.validate_on_submit():
        try:
            batch = payouts.create_batch(by=current_user, currency=form.currency.data,
                                         partner_org_ids=form.partner_ids.data or None, minimum=form.minimum.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash(f"Payout batch {batch.number} is created.", "success")
            return htmx.redirect(url_for(".payout_detail", batch_id=batch.id))
    try:
        lines = payouts.payable(currency=form.currency.data or "USD", partner_org_ids=form.partner_ids.data or None,
                                minimum=form.minimum.data)
    except DomainError as err:
        form.attach(err)
        lines = []
    return htmx.render_page("internal/payouts/list.html", "internal/payouts/_partials/payable.html", form=form,
                            lines=lines, batches=payouts.list_batches(), payable_currencies=payouts.currencies_payable()), \
        422 if request.method == "POST" else 200


@bp.get("/payouts/<int:batch_id>")
@requires("manage_payouts")
def payout_detail(batch_id: int):
    batch = payouts.get_batch(batch_id)
    return _detail(batch, PayoutPaidForm())


@bp.get("/payouts/<int:batch_id>/payout.csv")
@requires("manage_payouts")
def payout_file(batch_id: int):
    batch = payouts.get_batch(batch_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(payouts.PAYOUT_HEADER)
    for row in payouts.payout_rows(batch):
        writer.writerow([exports.neutralise(cell) for cell in row])
    response = Response("\ufeff" + buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="payout-{batch.number}.csv"'
    return response


@bp.post("/payouts/<int:batch_id>/paid")
@requires("manage_payouts")
def payout_paid(batch_id: int):
    batch = payouts.get_batch(batch_id)
    form = PayoutPaidForm()
    if form.validate_on_submit():
        try:
            payouts.mark_paid(batch, by=current_user, reference=form.reference.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash(f"Payout {batch.number} is paid; the partners are mailed their statements.", "success")
            return htmx.redirect(url_for(".payout_detail", batch_id=batch.id))
    return _detail(batch, form), 422


@bp.post("/payouts/<int:batch_id>/cancel")
@requires("manage_payouts")
def payout_cancel(batch_id: int):
    batch = payouts.get_batch(batch_id)
    try:
        payouts.cancel(batch, by=current_user)
    except DomainError as err:
        flash(err.message, "error")
        return _detail(batch, PayoutPaidForm()), 409
    flash(f"Payout {batch.number} is cancelled; its commissions are payable again.", "success")
    return htmx.redirect(url_for(".payouts_list", currency=batch.currency))


def _detail(batch, form):
    lines = payouts.lines_of(batch)
    return render_template("internal/payouts/detail.html", batch=batch, lines=lines, form=form,
                           payees={line.organization.id: payees.payee_for(line.organization) for line in lines})

