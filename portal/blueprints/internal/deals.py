"""Internal deal registration pages: the review queue (one-click and bulk), all registrations, the decision page."""
from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user

from portal.blueprints.internal import decisions
from portal.blueprints.internal.blueprint import bp
from portal.blueprints.internal.forms import (DealApproveForm, DealBulkForm, DealWonForm, DistributorsForm,
                                              ExtensionGrantForm, ExtensionRefuseForm, LostForm, RejectForm)
from portal.errors import DomainError
from portal.models.deals import DEAL_STATUS_NAMES
from portal.services import access, accounts, crm, custom_fields, deals, distributors, organizations
from portal.web import htmx
from portal.web.guards import requires
from portal.web.filters import deal_filter_args, deal_filters


QUEUE = decisions.Queue(noun="registration", plural="registrations", endpoint="internal.deal_queue",
                        row_template="internal/deals/_partials/queue_row.html")


@bp.get("/deals")
def deals_list():
    select_fields = [f for f in custom_fields.active("deal") if f.kind == "select"]
    filters = deal_filters(select_fields)
    page = deals.list_for_user(current_user, filters, page=request.args.get("page", 1, type=int))
    return htmx.render_page("internal/deals/list.html", "internal/deals/_partials/rows.html", page=page,
                            filters=filters, args=deal_filter_args(filters), custom_filters=select_fields,
                            statuses=DEAL_STATUS_NAMES, partners=organizations.partner_names(),
                            import_connections=crm.import_connections())


@bp.get("/deals/queue")
def deal_queue():
    return _queue_page(DealBulkForm(formdata=None, q=request.args.get("q", ""), status=request.args.get("status", ""),
                                    flagged="1" if request.args.get("flagged") else "",
                                    page=request.args.get("page", 1, type=int)))


@bp.post("/deals/bulk")
def deals_bulk():
    """Pre-approve, approve or reject the ticked registrations (decisions.bulk: in place with htmx, or the queue
    again)."""
    return decisions.bulk(QUEUE, DealBulkForm(), find=lambda ids: access.deals_for(current_user, ids),
                          apply=lambda form, chosen: deals.bulk(chosen, action=form.action.data, by=current_user,
                                                                reason=form.reason.data),
                          fresh_form=DealBulkForm, queue_page=_queue_page)


def _queue_page(bulk_form, selected=frozenset()):
    q, status, flagged = bulk_form.q.data or "", bulk_form.status.data or "", bool(bulk_form.flagged.data)
    page = deals.review_queue(q=q, status=status, flagged=flagged, page=bulk_form.page.data or 1)
    return htmx.render_page("internal/deals/queue.html", "internal/deals/_partials/queue_rows.html", page=page, q=q,
                            status=status, flagged=flagged, bulk_form=bulk_form, selected=selected,
                            extensions=deals.extension_requests() if page.page == 1 else [])


@bp.post("/deals/queue/<int:deal_id>/<any(pre_approve, approve):action>")
def deal_queue_action(deal_id: int, action: str):
    """One click from the queue; answers with the updated row."""
    deal = access.deal_for(current_user, deal_id)
    decide = {"pre_approve": deals.pre_approve, "approve": deals.approve}[action]
    return decisions.one_click(QUEUE, deal, lambda: decide(deal, by=current_user),
                               lambda: f"{deal.number}: {deal.status_label.lower()}.")


@bp.get("/deals/<int:deal_id>")
def deal_detail(deal_id: int):
    return _decision_page(access.deal_for(current_user, deal_id))


@bp.post("/deals/<int:deal_id>/pre-approve")
def deal_pre_approve(deal_id: int):
    deal = access.deal_for(current_user, deal_id)
    return _act(deal, None, "pre_approve", lambda: deals.pre_approve(deal, by=current_user), "Pre-approved.")


@bp.post("/deals/<int:deal_id>/approve")
def deal_approve(deal_id: int):
    deal = access.deal_for(current_user, deal_id)
    form = _approve_form()
    return _act(deal, form, "approve", lambda: deals.approve(
        deal, by=current_user, owner=access.user_for(current_user, form.owner_id.data) if form.owner_id.data else None,
        expires_at=decisions.end_of_day(form.expires_on.data)), "Approved; the partner is protected.")


@bp.post("/deals/<int:deal_id>/reject")
def deal_reject(deal_id: int):
    deal = access.deal_for(current_user, deal_id)
    form = RejectForm(prefix="reject")
    return _act(deal, form, "reject", lambda: deals.reject(deal, by=current_user, reason=form.reason.data),
                "Rejected; the partner is told why.")


@bp.post("/deals/<int:deal_id>/won")
def deal_won(deal_id: int):
    deal = access.deal_for(current_user, deal_id)
    form = DealWonForm(prefix="won")
    return _act(deal, form, "won", lambda: deals.mark_won(
        deal, amount=form.amount.data, currency=form.currency.data, by=current_user,
        won_at=decisions.end_of_day(form.won_at.data, cap_now=True)), "Marked won; the commissions are pending.")


@bp.post("/deals/<int:deal_id>/lost")
def deal_lost(deal_id: int):
    deal = access.deal_for(current_user, deal_id)
    form = LostForm(prefix="lost")
    return _act(deal, form, "lost", lambda: deals.mark_lost(deal, reason=form.reason.data, by=current_user),
                "Marked lost.")


@bp.post("/deals/<int:deal_id>/extension/grant")
def deal_extension_grant(deal_id: int):
    deal = access.deal_for(current_user, deal_id)
    form = ExtensionGrantForm(prefix="grant")
    return _act(deal, form, "grant", lambda: deals.grant_extension(
        deal, by=current_user, expires_at=decisions.end_of_day(form.expires_on.data)), "Extension granted.")


@bp.post("/deals/<int:deal_id>/extension/refuse")
def deal_extension_refuse(deal_id: int):
    deal = access.deal_for(current_user, deal_id)
    form = ExtensionRefuseForm(prefix="refuse")
    return _act(deal, form, "refuse", lambda: deals.refuse_extension(deal, by=current_user, reason=form.reason.data),
                "Extension refused.")


@bp.post("/deals/<int:deal_id>/commission-paid")
def deal_commission_paid(deal_id: int):
    deal = access.deal_for(current_user, deal_id)
    return _act(deal, None, "paid", lambda: deals.mark_commission_paid(deal, by=current_user),
                "The reseller's commission is marked paid.")


@bp.post("/organizations/<int:organization_id>/distributors")
@requires("manage_orgs")
def organization_distributors(organization_id: int):
    """The distributors a partner buys through (two-tier distribution), from its organization page."""
    org = access.organization_for(current_user, organization_id)
    form = DistributorsForm()  # parsed by the form base: a 20-digit id is refused, not an overflow
    if not form.validate_on_submit():
        raise DomainError("Choose distributors from the list.", field="distributor_ids")
    distributors.set_distributors(org, form.distributor_ids.data or [])
    flash(f"Saved the distributors {org.name} buys through.", "success")
    return htmx.redirect(url_for(".organization_detail", organization_id=org.id))


def _act(deal, form, name, action, done_message):
    return decisions.act(form, action, done_message, page=lambda **forms: _decision_page(deal, **forms),
                         detail_url=url_for(".deal_detail", deal_id=deal.id), name=name)


def _decision_page(deal, **forms):
    forms.setdefault("approve_form", _approve_form(formdata=None))
    forms.setdefault("reject_form", RejectForm(prefix="reject", formdata=None))
    forms.setdefault("won_form", DealWonForm(prefix="won", formdata=None, currency=deal.currency, amount=deal.amount))
    forms.setdefault("lost_form", LostForm(prefix="lost", formdata=None))
    forms.setdefault("grant_form", ExtensionGrantForm(prefix="grant", formdata=None))
    forms.setdefault("refuse_form", ExtensionRefuseForm(prefix="refuse", formdata=None))
    found = deals.conflicts(deal.contact_email, deal.customer_domain, exclude_deal_id=deal.id,
                            exclude_referral_id=deal.referral_id, exclude_org_id=deal.partner_org_id)
    return htmx.render_page("internal/deals/detail.html", "internal/deals/_partials/decision.html", deal=deal,
                            conflicts=found, timeline=deals.timeline(deal), labels=deals.labels(),
                            custom=custom_fields.active("deal"), can_move=deals.can_move, crm_panel=_crm_panel(deal),
                            **forms)


def _crm_panel(deal):
    """The registration's CRM panel, where a connection syncs registrations (or it was linked to one)."""
    panel = crm.deal_panel(deal)
    return panel if panel.connections or panel.links else None


def _approve_form(**kwargs):
    form = DealApproveForm(prefix="approve", **kwargs)
    form.owner_id.choices = [(0, "— No owner —")] + [(u.id, f"{u.name} ({u.role_label})")
                                                     for u in accounts.owner_candidates()]
    return form

