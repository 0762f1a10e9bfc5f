"""Reading list filters from the query string, the same way on every list page."""
from __future__ import annotations

from datetime import date

from flask import request

from portal.models import CustomField
from portal.services.deals import DealFilters
from portal.services.referrals import ReferralFilters


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def referral_filters(select_fields: list[CustomField]) -> ReferralFilters:
    """The filters in the query string; `select_fields` are the custom fields one may filter by."""
    custom = {f.key: request.args.get(f.key, "") for f in select_fields}
    return ReferralFilters(q=request.args.get("q", "").strip()[:100], status=request.args.get("status", ""),
                           stage=request.args.get("stage", ""), date_from=_date("date_from"), date_to=_date("date_to"),
                           partner_org_id=request.args.get("partner_org_id", type=int),
                           custom={k: v for k, v in custom.items() if v})


def filter_args(filters: ReferralFilters) -> dict:
    """The filters as query arguments, for pagination links."""
    args = {"q": filters.q, "status": filters.status, "stage": filters.stage,
            "date_from": filters.date_from.isoformat() if filters.date_from else "",
            "date_to": filters.date_to.isoformat() if filters.date_to else "",
            "partner_org_id": filters.partner_org_id or "", **filters.custom}
    return {k: v for k, v in args.items() if v}


def deal_filters(select_fields: list[CustomField]) -> DealFilters:
    """The deal registration list's filters in the query string."""
    custom = {f.key: request.args.get(f.key, "") for f in select_fields}
    return DealFilters(q=request.args.get("q", "").strip()[:100], status=request.args.get("status", ""),
                       date_from=_date("date_from"), date_to=_date("date_to"),
                       partner_org_id=request.args.get("partner_org_id", type=int),
                       custom={k: v for k, v in custom.items() if v})


def deal_filter_args(filters: DealFilters) -> dict:
    args = {"q": filters.q, "status": filters.status,
            "date_from": filters.date_from.isoformat() if filters.date_from else "",
            "date_to": filters.date_to.isoformat() if filters.date_to else "",
            "partner_org_id": filters.partner_org_id or "", **filters.custom}
    return {k: v for k, v in args.items() if v}
