"""The dashboards' activity chart: referrals submitted and won over a date range, in days, weeks or
months (chosen by the range's length), scoped by services/access.py.

Whole calendar months of whole organizations are read from the per-partner month tallies
(services/tallies.py); the other days are counted per day by the database (one grouped query per
series, on the date indexes), then gathered into the chart's buckets here, so both databases share
one bucketing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func

from portal import clock
from portal.extensions import db
from portal.models import Referral, Stage, User
from portal.services import access, reports

WON_STAGES = (Stage.WON_PAYMENT_PENDING.value, Stage.WON_PAYMENT_COMPLETED.value)


@dataclass
class Bucket:
    start: date
    end: date          # inclusive
    referrals: int = 0
    wins: int = 0


@dataclass
class Activity:
    start: date
    end: date
    unit: str          # day | week | month
    buckets: list[Bucket]

    @property
    def referrals(self) -> int:
        return sum(b.referrals for b in self.buckets)

    @property
    def wins(self) -> int:
        return sum(b.wins for b in self.buckets)


def unit_for(start: date, end: date) -> str:
    """Days up to a month, weeks up to about a quarter, months beyond: always between 4 and ~40 bars."""
    days = (end - start).days + 1
    return "day" if days <= 31 else "week" if days <= 120 else "month"


def activity(user: User, *, start: date, end: date) -> Activity:
    """Referrals submitted and won per bucket between `start` and `end` (inclusive, UTC days)."""
    unit = unit_for(start, end)
    buckets = _buckets(start, end, unit)
    scope = reports.whole_organizations(user)
    # Whole months of whole organizations come from the month tallies (a row per partner and month,
    # however many referrals); only the days outside them (a range's partial first and last month,
    # or all of a range of days or weeks) are counted from the referrals, on their date indexes.
    tallied = [b for b in buckets if unit == "month" and scope is not reports.OWN_ONLY and _whole_month(b)]
    if tallied:
        counts = reports.month_tallies(scope, [b.start.strftime("%Y-%m") for b in tallied])
        for bucket in tallied:
            bucket.referrals, bucket.wins = counts.get(bucket.start.strftime("%Y-%m"), (0, 0))
    spans = _uncovered(start, end, tallied)
    if spans:
        _count_days(user, buckets, spans)
    return Activity(start, end, unit, buckets)


def _whole_month(bucket: Bucket) -> bool:
    """The bucket is a calendar month up to its end, or up to today (nothing is counted for later days)."""
    following = date(bucket.start.year + bucket.start.month // 12, bucket.start.month % 12 + 1, 1)
    return bucket.start.day == 1 and (bucket.end == following - timedelta(days=1) or bucket.end >= clock.now().date())


def _uncovered(start: date, end: date, tallied: list[Bucket]) -> list[tuple[date, date]]:
    """The days of start..end before and after the tallied buckets (they are contiguous), as (first, last)."""
    if not tallied:
        return [(start, end)]
    spans = [(start, tallied[0].start - timedelta(days=1)), (tallied[-1].end + timedelta(days=1), end)]
    return [(first, last) for first, last in spans if first <= last]


def _count_days(user: User, buckets: list[Bucket], spans: list[tuple[date, date]]) -> None:
    visible = access.visible_referrals(user)

    def within(column):
        return db.or_(*(db.and_(column >= _midnight(first), column < _midnight(last + timedelta(days=1)))
                        for first, last in spans))

    day = _day(Referral.created_at)
    submitted = db.session.execute(visible.with_only_columns(day, func.count()).where(within(Referral.created_at))
                                   .group_by(day))
    won_day = _day(Referral.won_at)
    won = db.session.execute(visible.with_only_columns(won_day, func.count()).where(
        Referral.stage.in_(WON_STAGES), within(Referral.won_at)).group_by(won_day))
    for attribute, rows in (("referrals", submitted), ("wins", won)):
        for value, count in rows:
            bucket = _bucket_of(buckets, _as_date(value))
            if bucket is not None:
                setattr(bucket, attribute, getattr(bucket, attribute) + count)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, timezone.utc)


def _buckets(start: date, end: date, unit: str) -> list[Bucket]:
    buckets, cursor = [], start
    while cursor <= end:
        if unit == "day":
            last = cursor
        elif unit == "week":
            last = cursor + timedelta(days=6 - cursor.weekday())  # weeks end on Sunday
        else:
            following = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
            last = following - timedelta(days=1)
        buckets.append(Bucket(cursor, min(last, end)))
        cursor = min(last, end) + timedelta(days=1)
    return buckets


def _bucket_of(buckets: list[Bucket], day: date) -> Bucket | None:
    for bucket in buckets:
        if bucket.start <= day <= bucket.end:
            return bucket
    return None


def _day(column):
    """The UTC day of a timestamp column (stored as naive UTC), computed by the database."""
    return func.date(column)


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
