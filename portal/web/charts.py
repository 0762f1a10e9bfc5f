"""Geometry for the dashboards' server-rendered SVG charts (the templates only draw what this computes).

Charts are plain SVG with presentation attributes: the CSP allows no inline styles or scripts,
and no chart library is loaded from anywhere.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import render_template
from markupsafe import Markup

from portal import clock
from portal.services import activity, read_cache, reports
from portal.web import fragments


@dataclass
class Bar:
    series: str
    x: float
    y: float
    width: float
    height: float
    value: int


@dataclass
class Tick:
    y: float
    value: int


@dataclass
class Label:
    x: float
    text: str


@dataclass
class BarChart:
    width: int
    height: int
    plot_left: float
    plot_right: float
    baseline: float
    bars: list[Bar] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)


def nice_step(maximum: int, ticks: int = 4) -> int:
    """A round step (1, 2 or 5 times a power of ten) so that `ticks` steps reach at least `maximum`."""
    if maximum <= ticks:
        return 1
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 5, 10):
        if multiple * power >= raw:
            return int(multiple * power)
    return int(10 * power)  # pragma: no cover - the loop always returns


def grouped_bars(groups: list[tuple[str, dict[str, int]]], series: list[str], *, width: int = 720,
                 height: int = 240, left: int = 44, bottom: int = 28, top: int = 12, right: int = 8) -> BarChart:
    """Bars side by side per group (e.g. per month: referrals, wins), on a shared axis starting at zero."""
    maximum = max((values.get(s, 0) for _, values in groups for s in series), default=0)
    step = nice_step(maximum)
    axis_max = max(step * math.ceil(maximum / step), 4)
    baseline = height - bottom
    plot_height = baseline - top
    chart = BarChart(width=width, height=height, plot_left=left, plot_right=width - right, baseline=baseline)
    chart.ticks = [Tick(y=round(baseline - plot_height * value / axis_max, 2), value=value)
                   for value in range(0, axis_max + 1, step)]
    slot = (width - left - right) / max(len(groups), 1)
    bar_width = slot * 0.7 / max(len(series), 1)
    for index, (label, values) in enumerate(groups):
        slot_left = left + slot * index
        chart.labels.append(Label(x=round(slot_left + slot / 2, 2), text=label))
        for position, name in enumerate(series):
            value = values.get(name, 0)
            bar_height = plot_height * value / axis_max
            chart.bars.append(Bar(series=name, x=round(slot_left + slot * 0.15 + bar_width * position, 2),
                                  y=round(baseline - bar_height, 2), width=round(bar_width - 2, 2),
                                  height=round(bar_height, 2), value=value))
    return chart


def monthly_bars(months) -> BarChart:
    """Referrals and wins per month (objects with .start, .referrals, .wins), labelled by month name."""
    return grouped_bars([(m.start.strftime("%b"), {"referrals": m.referrals, "wins": m.wins}) for m in months],
                        ["referrals", "wins"])


# ---- the dashboards' activity chart: a date range, bars per day, week or month ---------------------

RANGES = {"30d": "30 days", "quarter": "Quarter", "12m": "12 months", "custom": "Custom"}
MAX_CUSTOM_DAYS = 3 * 366


@dataclass
class ChartRange:
    key: str
    start: date
    end: date
    error: str | None = None

    @property
    def label(self) -> str:
        if self.key == "custom":
            return f"{self.start.day} {self.start:%b %Y} to {self.end.day} {self.end:%b %Y}"
        return {"30d": "last 30 days", "quarter": "last quarter (13 weeks)", "12m": "last 12 months"}[self.key]


def chart_range(key: str | None, start: str | None, end: str | None, *, today: date) -> ChartRange:
    """The range a dashboard asked for (?range=30d|quarter|12m|custom&from=&to=), 12 months by default.
    A custom range that cannot be read comes back as 12 months with an error to show."""
    if key == "30d":
        return ChartRange("30d", today - timedelta(days=29), today)
    if key == "quarter":
        return ChartRange("quarter", today - timedelta(days=90), today)
    if key == "custom":
        try:
            first, last = date.fromisoformat(start or ""), date.fromisoformat(end or "")
        except ValueError:
            return _twelve_months(today, "Enter both dates of the custom range.")
        if first > last:
            return _twelve_months(today, "The range's start must come before its end.")
        if last > today:
            return _twelve_months(today, "The range cannot end in the future.")
        if (last - first).days > MAX_CUSTOM_DAYS:
            return _twelve_months(today, "Choose a range of three years at most.")
        return ChartRange("custom", first, last)
    return _twelve_months(today)


def _twelve_months(today: date, error: str | None = None) -> ChartRange:
    month = today.month - 11
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return ChartRange("12m", date(year, month, 1), today, error)


@dataclass
class Slot:
    """One bucket of the chart: its bars, its axis label (or none, when labels are thinned) and the
    values shown on hover and focus."""
    x: float
    width: float
    label: str | None
    title: str
    tip: str
    tip_x: float
    bars: list[Bar] = field(default_factory=list)


@dataclass
class ActivityChart:
    width: int
    height: int
    plot_left: float
    plot_right: float
    baseline: float
    top: float
    ticks: list[Tick] = field(default_factory=list)
    slots: list[Slot] = field(default_factory=list)


def activity_bars(activity, *, width: int = 720, height: int = 260, max_labels: int = 12) -> ActivityChart:
    """Referrals and wins per bucket of `activity` (services/activity.py); at most `max_labels` axis
    labels, so a narrow chart stays readable."""
    left, right, top, bottom = 40, 8, 30, 28
    buckets = activity.buckets
    maximum = max((max(b.referrals, b.wins) for b in buckets), default=0)
    step = nice_step(maximum)
    axis_max = max(step * math.ceil(maximum / step), 4)
    baseline = height - bottom
    plot_height = baseline - top
    chart = ActivityChart(width=width, height=height, plot_left=left, plot_right=width - right,
                          baseline=baseline, top=top)
    chart.ticks = [Tick(y=round(baseline - plot_height * value / axis_max, 2), value=value)
                   for value in range(0, axis_max + 1, step)]
    slot_width = (width - left - right) / max(len(buckets), 1)
    every = max(1, math.ceil(len(buckets) / max_labels))
    bar_width = slot_width * 0.8 / 2
    for index, bucket in enumerate(buckets):
        x = left + slot_width * index
        title = bucket_title(bucket, activity.unit)
        tip = f"{bucket.referrals} submitted · {bucket.wins} won"
        slot = Slot(x=round(x, 2), width=round(slot_width, 2),
                    label=bucket_label(bucket, activity) if index % every == 0 else None,
                    title=title, tip=tip,
                    tip_x=round(min(max(x + slot_width / 2, left + 70), width - right - 70), 2))
        for position, (series, value) in enumerate((("referrals", bucket.referrals), ("wins", bucket.wins))):
            bar_height = plot_height * value / axis_max
            slot.bars.append(Bar(series=series, x=round(x + slot_width * 0.1 + bar_width * position, 2),
                                 y=round(baseline - bar_height, 2), width=round(max(bar_width - 1, 1), 2),
                                 height=round(bar_height, 2), value=value))
        chart.slots.append(slot)
    return chart


def bucket_label(bucket, activity) -> str:
    """The short axis label: a day or a week's first day ("3 Nov"), a month ("Nov", "Nov 25" across years)."""
    if activity.unit == "month":
        spans_years = activity.start.year != activity.end.year
        return bucket.start.strftime("%b %y" if spans_years else "%b")
    return f"{bucket.start.day} {bucket.start:%b}"


def bucket_title(bucket, unit: str) -> str:
    """The bucket in words, for the hover title, the focus tip and the table."""
    if unit == "day":
        return f"{bucket.start:%a} {bucket.start.day} {bucket.start:%B %Y}"
    if unit == "week":
        return f"{bucket.start.day} {bucket.start:%b} to {bucket.end.day} {bucket.end:%b %Y}"
    return bucket.start.strftime("%B %Y")


def activity_section(user, args, endpoint: str) -> Markup:
    """The dashboards' activity chart (templates/_partials/activity_chart.html), for the range the
    query string asks. A preset range of whole organizations is drawn once per change of the counts
    (and per day): the same for everyone who sees those organizations."""
    today = clock.now().date()
    chosen = chart_range(args.get("range"), args.get("from"), args.get("to"), today=today)

    def render() -> str:
        data = activity.activity(user, start=chosen.start, end=chosen.end)
        return render_template("_partials/activity_chart.html", activity=data, chart_range=chosen, ranges=RANGES,
                               dashboard_endpoint=endpoint, wide=activity_bars(data),
                               narrow=activity_bars(data, width=360, height=240, max_labels=6))
    scope = reports.whole_organizations(user)
    # A custom range is any two dates: drawn for the one who asked, never kept.
    if chosen.key == "custom" or chosen.error or scope is reports.OWN_ONLY:
        return Markup(render())
    return fragments.cached(read_cache.TALLIES, f"activity:{endpoint}:{scope}:{chosen.key}:{today}", render)
