"""The dashboards' activity chart: referrals submitted and won over a date range, in days, weeks or
months (chosen by the range's length), scoped by services/access.py.

The database counts per day (one grouped query per series, never a row per referral); the days are
then gathered into the chart's buckets here, so both databases share one bucketing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func

from portal.extensions import db
from portal.models import Referral, Stage, User
from portal.services import access

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
    since = datetime.combine(start, time.min, timezone.utc)
    until = datetime.combine(end + timedelta(days=1), time.min, timezone.utc)
    visible = access.visible_referrals(user)
    day = _day(Referral.created_at)
    submitted = db.session.execute(visible.with_only_columns(day, func.count()).where(
        Referral.created_at >= since, Referral.created_at < until).group_by(day))
    won_day = _day(Referral.won_at)
    won = db.session.execute(visible.with_only_columns(won_day, func.count()).where(
        Referral.stage.in_(WON_STAGES), Referral.won_at >= since, Referral.won_at < until).group_by(won_day))
    for attribute, rows in (("referrals", submitted), ("wins", won)):
        for value, count in rows:
            bucket = _bucket_of(buckets, _as_date(value))
            if bucket is not None:
                setattr(bucket, attribute, getattr(bucket, attribute) + count)
    return Activity(start, end, unit, buckets)


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
