"""The figures behind a referral report's charts, computed over the report's own selection (its
filters and the user's access), one grouped query each: referrals per month by outcome, the funnel
submitted → accepted → won, commission per month (per currency), and per link visits → submissions → won.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import case, func

from portal import clock, money
from portal.extensions import db
from portal.models import Commission, CommissionStatus, Referral, ReferralLink, Stage
from portal.services import reports as dashboards
from portal.services.reporting.query import Report

WON = (Stage.WON_PAYMENT_PENDING.value, Stage.WON_PAYMENT_COMPLETED.value)
NOT_ACCEPTED = (Stage.SUBMITTED.value, Stage.REJECTED.value)
# Outcome groups of the monthly chart (series names are CSS classes: chart__bar--<series>).
OUTCOMES = {"open": (Stage.SUBMITTED.value, Stage.ACCEPTED.value, Stage.SENT_TO_RESELLER.value), "won": WON,
            "lost": (Stage.LOST.value, Stage.REJECTED.value)}


@dataclass
class LinkFunnel:
    campaign: str
    visits: int
    submissions: int
    won: int


@dataclass
class ReferralCharts:
    months: list[tuple[str, dict[str, int]]]
    funnel: list[tuple[str, int]]
    commission_months: dict[str, list[tuple[str, int]]]
    links: list[LinkFunnel]


def referral_charts(report: Report, *, months: int = 12) -> ReferralCharts | None:
    """The charts of a referral report, or None for another entity."""
    if report.entity.key != "referrals":
        return None
    selection = report.filtered()
    starts = dashboards._month_starts(clock.now(), months)
    since = datetime(starts[0].year, starts[0].month, 1, tzinfo=timezone.utc)
    month = dashboards._month_key(Referral.created_at)
    counts: dict[str, dict[str, int]] = {}
    for key, stage, count in db.session.execute(
            selection.with_only_columns(month, Referral.stage, func.count()).where(Referral.created_at >= since)
            .group_by(month, Referral.stage)):
        key = key if isinstance(key, str) else key.strftime("%Y-%m")
        series = next(name for name, stages in OUTCOMES.items() if stage in stages)
        counts.setdefault(key, {}).setdefault(series, 0)
        counts[key][series] += count
    month_rows = [(start.strftime("%b"), counts.get(start.strftime("%Y-%m"), {})) for start in starts]

    total, accepted, won = db.session.execute(selection.with_only_columns(
        func.count(), func.sum(case((Referral.stage.not_in(NOT_ACCEPTED), 1), else_=0)),
        func.sum(case((Referral.stage.in_(WON), 1), else_=0)))).one()
    funnel = [("Submitted", total or 0), ("Accepted", int(accepted or 0)), ("Won", int(won or 0))]

    ids = selection.with_only_columns(Referral.id).scalar_subquery()
    paid_month = dashboards._month_key(Commission.created_at)
    commission_months: dict[str, dict[str, Decimal]] = {}
    for key, currency, amount in db.session.execute(
            db.select(paid_month, Commission.currency, func.sum(Commission.amount))
            .where(Commission.referral_id.in_(ids), Commission.status != CommissionStatus.VOID.value,
                   Commission.amount.is_not(None), Commission.created_at >= since)
            .group_by(paid_month, Commission.currency)):
        key = key if isinstance(key, str) else key.strftime("%Y-%m")
        commission_months.setdefault(currency, {})[key] = money.quantize(amount or 0, currency)
    by_currency = {currency: [(start.strftime("%b"), int(values.get(start.strftime("%Y-%m"), 0)))
                              for start in starts] for currency, values in sorted(commission_months.items())}

    link_rows = db.session.execute(
        selection.with_only_columns(ReferralLink.campaign, ReferralLink.clicks, func.count(),
                                    func.sum(case((Referral.stage.in_(WON), 1), else_=0)))
        .join(ReferralLink, ReferralLink.id == Referral.link_id)
        .group_by(ReferralLink.id, ReferralLink.campaign, ReferralLink.clicks)
        .order_by(func.count().desc()).limit(10))
    links = [LinkFunnel(campaign, clicks or 0, count, int(wins or 0)) for campaign, clicks, count, wins in link_rows]
    return ReferralCharts(months=month_rows, funnel=funnel, commission_months=by_currency, links=links)
