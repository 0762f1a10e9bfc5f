"""Internal referral pages: the review queue (with bulk actions), all referrals, the decision page."""
from __future__ import annotations

from flask import request, url_for
from flask_login import current_user

from portal.web import htmx
from portal.web.filters import filter_args, referral_filters
from portal.blueprints.internal import decisions
from portal.blueprints.internal.blueprint import bp
from portal.blueprints.internal.forms import (AcceptForm, BulkForm, CustomStatusForm, LostForm, RejectForm, RouteForm,
                                              WonForm)
from portal.services import (access, accounts, crm, custom_fields, deals, lead_distribution, leads, organizations,
                             referrals, statuses)


QUEUE = decisions.Queue(noun="referral", plural="referrals", endpoint="internal.review_queue",
                        row_template="internal/referrals/_partials/queue_row.html")


@bp.get("/referrals")
def referrals_list():
    select_fields = [f for f in custom_fields.active() if f.kind == "select"]
    filters = referral_filters(select_fields)
    page = referrals.list_for_user(current_user, filters, page=request.args.get("page", 1, type=int))
    return htmx.render_page("internal/referrals/list.html", "internal/referrals/_partials/rows.html",
                            page=page, filters=filters, args=filter_args(filters), labels=statuses.labels(),
                            partners=organizations.partner_names(), custom_filters=select_fields)


@bp.get("/referrals/queue")
def review_queue():
    q, page_number = request.args.get("q", ""), request.args.get("page", 1, type=int)
    return _queue_page(_bulk_form(formdata=None, q=q, page=page_number))


@bp.post("/referrals/bulk")
def referrals_bulk():
    """Accept, reject or route the ticked referrals (decisions.bulk: in place with htmx, or the queue again)."""
    return decisions.bulk(QUEUE, _bulk_form(), find=lambda ids: access.referrals_for(current_user, ids),
                          apply=_apply_bulk,
                          fresh_form=_bulk_form, queue_page=_queue_page, labels=statuses.labels())


def _apply_bulk(form, chosen):
    if form.action.data == "accept":
        return referrals.bulk_accept(chosen, by=current_user)
    if form.action.data == "reject":
        return referrals.bulk_reject(chosen, by=current_user, reason=form.reason.data)
    return referrals.bulk_route(chosen, by=current_user, respond_by=decisions.end_of_day(form.respond_by.data),
                                reseller=access.organization_for(current_user, form.reseller_id.data))


def _bulk_form(**kwargs):
    form = BulkForm(**kwargs)
    form.reseller_id.choices = [(0, "— Choose a reseller —")] + [
        (o.id, f"{o.name} ({o.kind})") for o in organizations.partner_names(active_only=True)]
    return form


def _queue_page(bulk_form, selected=frozenset()):
    page = referrals.review_queue(q=bulk_form.q.data or "", page=bulk_form.page.data or 1)
    return htmx.render_page("internal/referrals/queue.html", "internal/referrals/_partials/queue_rows.html",
                            page=page, q=bulk_form.q.data or "", labels=statuses.labels(), bulk_form=bulk_form,
                            selected=selected, returned=lead_distribution.needing_reseller() if page.page == 1 else [])


@bp.post("/referrals/queue/<int:referral_id>/accept")
def queue_accept(referral_id: int):
    """Accept straight from the queue; answers with the updated row (the queue's one-click action)."""
    referral = access.referral_for(current_user, referral_id)
    return decisions.one_click(QUEUE, referral, lambda: referrals.accept(referral, by=current_user),
                               lambda: f"{referral.number} accepted.", labels=statuses.labels())


@bp.get("/referrals/<int:referral_id>")
def referral_detail(referral_id: int):
    referral = access.referral_for(current_user, referral_id)
    return _decision_page(referral)


@bp.post("/referrals/<int:referral_id>/accept")
def referral_accept(referral_id: int):
    referral = access.referral_for(current_user, referral_id)
    form = _accept_form()
    return _act(referral, form, "accept", lambda: referrals.accept(
        referral, by=current_user, owner=access.user_for(current_user, form.owner_id.data) if form.owner_id.data else None),
        "Accepted for direct sales.")


@bp.post("/referrals/<int:referral_id>/reject")
def referral_reject(referral_id: int):
    referral = access.referral_for(current_user, referral_id)
    form = RejectForm(prefix="reject")
    return _act(referral, form, "reject", lambda: referrals.reject(referral, by=current_user, reason=form.reason.data),
                "Rejected; the partner is told why.")


@bp.post("/referrals/<int:referral_id>/route")
def referral_route(referral_id: int):
    referral = access.referral_for(current_user, referral_id)
    form = _route_form(referral)
    return _act(referral, form, "route", lambda: referrals.route_to_reseller(
        referral, by=current_user, reseller=access.organization_for(current_user, form.reseller_id.data),
        respond_by=decisions.end_of_day(form.respond_by.data)), "Sent to the reseller as a lead.")


@bp.post("/referrals/<int:referral_id>/route-by-rule")
def referral_route_by_rule(referral_id: int):
    referral = access.referral_for(current_user, referral_id)
    return _act(referral, None, "route", lambda: lead_distribution.route_by_rule(referral, by=current_user),
                "Sent to the next reseller of the lead rule.")


@bp.post("/referrals/<int:referral_id>/won")
def referral_won(referral_id: int):
    referral = access.referral_for(current_user, referral_id)
    form = WonForm(prefix="won")
    return _act(referral, form, "won", lambda: referrals.mark_won(
        referral, amount=form.amount.data, currency=form.currency.data, by=current_user,
        won_at=decisions.end_of_day(form.won_at.data, cap_now=True)), "Marked won; the commission is pending.")


@bp.post("/referrals/<int:referral_id>/lost")
def referral_lost(referral_id: int):
    referral = access.referral_for(current_user, referral_id)
    form = LostForm(prefix="lost")
    return _act(referral, form, "lost", lambda: referrals.mark_lost(referral, reason=form.reason.data, by=current_user),
                "Marked lost.")


@bp.post("/referrals/<int:referral_id>/paid")
def referral_paid(referral_id: int):
    referral = access.referral_for(current_user, referral_id)
    return _act(referral, None, "paid", lambda: referrals.mark_commission_paid(referral, by=current_user),
                "Commission marked paid.")


@bp.post("/referrals/<int:referral_id>/status")
def referral_status(referral_id: int):
    referral = access.referral_for(current_user, referral_id)
    form = _status_form(referral)
    return _act(referral, form, "status", lambda: referrals.set_status(
        referral, status=form.status.data, by=current_user, reason=form.reason.data), "Status changed.")


def _act(referral, form, name, action, done_message):
    return decisions.act(form, action, done_message, page=lambda **forms: _decision_page(referral, **forms),
                         detail_url=url_for(".referral_detail", referral_id=referral.id), name=name)


def _decision_page(referral, **forms):
    forms.setdefault("accept_form", _accept_form())
    forms.setdefault("reject_form", RejectForm(prefix="reject", formdata=None))
    forms.setdefault("route_form", _route_form(referral, formdata=None))
    forms.setdefault("won_form", WonForm(prefix="won", formdata=None, currency=referral.currency))
    forms.setdefault("lost_form", LostForm(prefix="lost", formdata=None))
    forms.setdefault("status_form", _status_form(referral, formdata=None))
    candidates = referrals.duplicate_candidates(referral.contact_email, referral.company_domain, exclude_id=referral.id)
    return htmx.render_page("internal/referrals/detail.html", "internal/referrals/_partials/decision.html",
                            referral=referral, labels=statuses.labels(), candidates=candidates,
                            timeline=referrals.timeline("referral", referral.id), lead=leads.current_for(referral),
                            custom=custom_fields.active(), can_move=statuses.can_move, crm_panel=crm.record_panel(referral),
                            rule=lead_distribution.rule_for(referral), deal=deals.for_referral(referral.id), **forms)


def _accept_form(**kwargs):
    form = AcceptForm(prefix="accept", **kwargs)
    form.owner_id.choices = [(0, "— No owner yet —")] + [(u.id, f"{u.name} ({u.role_label})")
                                                         for u in accounts.owner_candidates()]
    return form


def _route_form(referral, **kwargs):
    form = RouteForm(prefix="route", **kwargs)
    form.reseller_id.choices = [(o.id, f"{o.name} ({o.kind})") for o in organizations.resellers_for(referral)]
    return form


def _status_form(referral, **kwargs):
    form = CustomStatusForm(prefix="status", **kwargs)
    form.status.choices = [(s.key, s.label) for s in statuses.all_statuses()
                           if s.stage == referral.stage and s.key != referral.status]
    return form

