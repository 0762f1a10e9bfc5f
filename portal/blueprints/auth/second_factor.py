"""The second factor: the code step of a sign-in, enrolment (at sign-in when required, or from the
account page), and the recovery codes shown once."""
from __future__ import annotations

import segno
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from portal.blueprints.auth import signing_in
from portal.blueprints.auth.blueprint import bp
from portal.blueprints.auth.forms import CodeForm
from portal.errors import DomainError
from portal.extensions import limiter
from portal.services import mfa

NEW_SECRET = "mfa_new_secret"


def _code_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_code_limit, key_func=signing_in.pending_key, methods=["POST"],
               deduct_when=lambda response: response.status_code != 303)
@limiter.limit("60 per 15 minutes", methods=["POST"], deduct_when=lambda response: response.status_code != 303)
def login_code():
    user = signing_in.pending_user()
    if user is None or not mfa.enrolled(user):
        flash("Please sign in again.", "info")
        return redirect(url_for("auth.login"), code=303)
    form = CodeForm()
    if form.validate_on_submit():
        try:
            kind = mfa.verify(user, form.code.data)
        except DomainError as err:
            form.attach(err)
        else:
            if kind == "recovery":
                flash(f"You used a recovery code: {mfa.recovery_codes_left(user)} left. "
                      "If your phone is lost, ask an administrator to reset your second factor.", "warning")
            return signing_in.finish(user)
    return render_template("auth/login_code.html", form=form), 422 if request.method == "POST" else 200


@bp.route("/login/enrol", methods=["GET", "POST"])
@limiter.limit(_code_limit, key_func=signing_in.pending_key, methods=["POST"],
               deduct_when=lambda response: response.status_code != 200)
def login_enrol():
    """Enrolment during sign-in, for a user who must have a second factor and has none yet."""
    user = signing_in.pending_user()
    if user is None or mfa.enrolled(user):
        return redirect(url_for("auth.login"), code=303)
    return _enrol(user, signing_in_now=True)


@bp.route("/account/mfa", methods=["GET", "POST"])
@login_required
def account_mfa():
    if mfa.enrolled(current_user):
        flash("Two-step sign-in is on.", "info")
        return redirect(url_for("auth.account"), code=303)
    return _enrol(current_user, signing_in_now=False)


def _enrol(user, *, signing_in_now: bool):
    secret = session.get(NEW_SECRET)
    if not secret or request.method == "GET":
        secret = session[NEW_SECRET] = mfa.new_secret()
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = mfa.enrol(user, secret=secret, code=form.code.data)
        except DomainError as err:
            form.attach(err)
        else:
            session.pop(NEW_SECRET, None)
            if signing_in_now:
                signing_in.finish(user)
            return render_template("auth/recovery_codes.html", codes=codes,
                                   next_url=url_for("home") if signing_in_now else url_for("auth.account"))
    uri = mfa.provisioning_uri(user, secret)
    return render_template("auth/mfa_enrol.html", form=form, secret=secret, uri=uri,
                           qr=segno.make(uri, error="m").svg_data_uri(scale=4, border=2),
                           required=mfa.required_for(user), signing_in_now=signing_in_now), \
        422 if request.method == "POST" else 200
