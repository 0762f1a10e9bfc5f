"""The partner's commission ledger, balance per currency, statements and payee details (partner admins)."""
from __future__ import annotations

import csv
import io
from datetime import date

from flask import Response, flash, render_template, request, url_for
from flask_login import current_user

from portal.blueprints.partner.blueprint import bp
from portal.blueprints.partner.forms import PayeeForm
from portal.errors import DomainError
from portal.models.types import utcnow
from portal.services import ledger, payees
from portal.services.reporting import exports
from portal.web import htmx
from portal.web.guards import requires


@bp.get("/ledger", endpoint="ledger")
@requires("see_ledger")
def ledger_page():
    org = current_user.organization
    return render_template("partner/commissions/ledger.html", balances=ledger.balances(org.id),
                           pending=ledger.pending_amounts(org.id), entries=ledger.entries(org.id, limit=200),
                           payee=payees.payee_for(org))


@bp.get("/ledger/statement")
@requires("see_ledger")
def ledger_statement():
    today = utcnow().date()
    start = _day(request.args.get("start")) or date(today.year, today.month, 1)
    end = _day(request.args.get("end")) or today
    try:
        statement = ledger.statement(current_user.organization, start=start, end=end)
    except DomainError as err:
        flash(err.message, "error")
        statement = ledger.statement(current_user.organization, start=end, end=end)
    if request.args.get("format") == "csv":
        return _statement_csv(statement)
    return render_template("partner/commissions/statement.html", statement=statement)


@bp.route("/ledger/payee", methods=["GET", "POST"])
@requires("see_ledger")
def ledger_payee():
    org = current_user.organization
    form = PayeeForm()
    if form.validate_on_submit():
        try:
            payees.save(org, by=current_user, method=form.method.data, account_name=form.account_name.data,
                        iban=form.iban.data, bic=form.bic.data, paypal_email=form.paypal_email.data,
                        tax_id=form.tax_id.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash("Your payee details are saved.", "success")
            return htmx.redirect(url_for(".ledger"))
    return render_template("partner/commissions/payee.html", form=form, payee=payees.payee_for(org)), \
        422 if request.method == "POST" else 200


def _statement_csv(statement) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Date", "Entry", "Reason", "Amount", "Currency", "By"])
    for currency in statement.currencies:
        writer.writerow([statement.start.isoformat(), "Opening balance", "", statement.opening.get(currency, 0),
                         currency, ""])
    for entry in statement.entries:
        writer.writerow([exports.neutralise(cell) for cell in (
            entry.at.strftime("%Y-%m-%d %H:%M"), entry.label, entry.reason or "", entry.amount, entry.currency,
            entry.actor_name)])
    for currency in statement.currencies:
        writer.writerow([statement.end.isoformat(), "Closing balance", "", statement.closing.get(currency, 0),
                         currency, ""])
    response = Response("\ufeff" + buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = (f'attachment; filename="statement-{statement.start}-'
                                               f'{statement.end}.csv"')
    return response


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
