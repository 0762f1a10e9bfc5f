"""Geometry for the dashboards' server-rendered SVG charts (the templates only draw what this computes).

Charts are plain SVG with presentation attributes: the CSP allows no inline styles or scripts,
and no chart library is loaded from anywhere.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field


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
