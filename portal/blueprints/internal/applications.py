"""The partner applications queue: internal users approve or reject what the program page received."""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_login import current_user

from portal.blueprints.internal.blueprint import bp
from portal.blueprints.internal.forms import ApplicationDecisionForm
from portal.errors import DomainError
from portal.models import ApplicationStatus
from portal.services import applications
from portal.web import htmx
from portal.web.guards import requires


@bp.get("/applications")
@requires("manage_orgs")
def applications_list():
    status = request.args.get("status", ApplicationStatus.PENDING.value)
    page = applications.queue(status=status, page=request.args.get("page", 1, type=int))
    return render_template("internal/applications/list.html", page=page, status=status,
                           statuses=[s.value for s in ApplicationStatus])


@bp.get("/applications/<int:application_id>")
@requires("manage_orgs")
def application_detail(application_id: int):
    application = applications.application_for(current_user, application_id)
    return render_template("internal/applications/detail.html", application=application,
                           form=ApplicationDecisionForm())


@bp.post("/applications/<int:application_id>/approve")
@requires("manage_orgs")
def application_approve(application_id: int):
    application = applications.application_for(current_user, application_id)
    form = ApplicationDecisionForm()
    if form.validate_on_submit():
        try:
            org = applications.approve(application, by=current_user)
        except DomainError as err:
            form.attach(err)
        else:
            flash(f"{org.name} is now a partner; {application.contact_email} is invited.", "success")
            return htmx.redirect(url_for(".organization_detail", organization_id=org.id))
    return render_template("internal/applications/detail.html", application=application, form=form), 422


@bp.post("/applications/<int:application_id>/reject")
@requires("manage_orgs")
def application_reject(application_id: int):
    application = applications.application_for(current_user, application_id)
    form = ApplicationDecisionForm()
    if form.validate_on_submit():
        try:
            applications.reject(application, by=current_user, reason=form.reason.data)
        except DomainError as err:
            form.attach(err)
        else:
            flash(f"The application of {application.company_name} is rejected; the applicant is told why.", "success")
            return htmx.redirect(url_for(".applications_list"))
    return render_template("internal/applications/detail.html", application=application, form=form), 422
