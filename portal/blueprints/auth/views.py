"""Sign in and out, password reset, invitations, and one's own profile."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, logout_user
from wtforms import BooleanField

from portal.blueprints.auth import signing_in
from portal.blueprints.auth.blueprint import bp
from portal.blueprints.auth.forms import (ChangePasswordForm, ForgotPasswordForm, LoginForm,
                                          NewPasswordForm, ProfileForm)
from portal.errors import DomainError
from portal.extensions import limiter
from portal.services import accounts, mfa, notifications, sessions
from portal.services.notifications import NOTIFICATION_EVENTS


def _login_key() -> str:
    # Per address and account: a wrong guess on one account does not lock everyone behind a NAT.
    return f"{get_remote_address()}|{accounts.normalize_email(request.form.get('email', ''))}"


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, key_func=_login_key, methods=["POST"],
               deduct_when=lambda response: response.status_code != 303)
@limiter.limit("60 per 15 minutes", methods=["POST"], deduct_when=lambda response: response.status_code != 303)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data)
        except DomainError as err:
            form.attach(err)
        else:
            return signing_in.after_password(user, remember=form.remember.data, next_url=request.args.get("next"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    sessions.end(current_user.get_id())  # the old cookies, copied or not, stop working
    logout_user()
    session.clear()  # nothing of this user's session (pending messages included) outlives the sign-out
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit("5 per 15 minutes", methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        # The same answer whether or not the address has an account.
        flash("If that address has an account, a link to reset the password is on its way.", "info")
        return redirect(url_for("auth.login"), code=303)
    return render_template("auth/forgot_password.html", form=form), 422 if request.method == "POST" else 200


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    return _choose_password(token, accounts.RESET, accounts.reset_password,
                            "Your password is changed. You can sign in now.")


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    return _choose_password(token, accounts.INVITE, accounts.accept_invitation,
                            "Welcome! Your account is ready: sign in with your new password.")


def _choose_password(token: str, purpose: str, use_case, done_message: str):
    try:
        user = accounts.token_user(token, purpose).user
    except DomainError as err:
        return render_template("auth/token_invalid.html", message=err.message), 410
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            use_case(token, form.password.data)
        except DomainError as err:
            form.attach(err)
        else:
            if current_user.is_authenticated:
                sessions.end(current_user.get_id())
                logout_user()
            flash(done_message, "success")
            return redirect(url_for("auth.login"), code=303)
    return render_template("auth/choose_password.html", form=form, user=user, purpose=purpose), \
        422 if request.method == "POST" else 200


def _profile_form_class():
    # One checkbox per notification a user may switch off, built from the list in one place.
    class Form(ProfileForm):
        pass

    for event, label in NOTIFICATION_EVENTS.items():
        setattr(Form, f"notify_{event}", BooleanField(label))
    return Form


@bp.get("/notifications")
@login_required
def notifications_list():
    page = notifications.list_for(current_user, page=request.args.get("page", 1, type=int))
    return render_template("auth/notifications.html", page=page)


@bp.post("/notifications/read")
@login_required
def notifications_read():
    notifications.mark_all_read(current_user)
    return redirect(url_for("auth.notifications_list"), code=303)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    prefs = current_user.notification_preferences or {}
    form = _profile_form_class()(obj=current_user, data={
        f"notify_{event}": prefs.get(event, True) is not False for event in NOTIFICATION_EVENTS})
    password_form = ChangePasswordForm(prefix="pw")
    if form.validate_on_submit():
        accounts.update_profile(current_user, name=form.name.data, notification_preferences={
            event: bool(getattr(form, f"notify_{event}").data) for event in NOTIFICATION_EVENTS})
        flash("Your profile is saved.", "success")
        return redirect(url_for("auth.account"), code=303)
    return _account_page(form, password_form), 422 if request.method == "POST" else 200


def _account_page(form, password_form):
    rows = sessions.list_for(current_user)
    current = next((s.id for s in rows if sessions.is_current(s, current_user.get_id())), None)
    return render_template("auth/account.html", form=form, password_form=password_form, events=NOTIFICATION_EVENTS,
                           sessions=rows, current_session_id=current,
                           mfa_enrolled=mfa.enrolled(current_user), mfa_required=mfa.required_for(current_user),
                           recovery_left=mfa.recovery_codes_left(current_user) if mfa.enrolled(current_user) else 0)


@bp.post("/account/sessions/end-all")
@login_required
def end_all_sessions():
    count = sessions.end_all(current_user)
    logout_user()
    session.clear()
    flash(f"Signed out everywhere ({count} session{'s' if count != 1 else ''}). Sign in again to continue.", "info")
    return redirect(url_for("auth.login"), code=303)


@bp.post("/account/password")
@login_required
def change_password():
    form = _profile_form_class()(obj=current_user, formdata=None)
    password_form = ChangePasswordForm(prefix="pw")
    if password_form.validate_on_submit():
        try:
            user = accounts.change_password(current_user, current_password=password_form.current_password.data,
                                            new_password=password_form.password.data)
        except DomainError as err:
            password_form.attach(err)
        else:
            # Every session ended with the password; this one begins again at once.
            signing_in.begin_session(user, remember=False)
            flash("Your password is changed. Other sessions have been signed out.", "success")
            return redirect(url_for("auth.account"), code=303)
    return _account_page(form, password_form), 422
