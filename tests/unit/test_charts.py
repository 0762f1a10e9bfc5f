"""Geometry of the server-rendered SVG bar chart."""
from __future__ import annotations

from datetime import date

import pytest

from portal.web import charts


@pytest.mark.parametrize("maximum, step", [(0, 1), (3, 1), (7, 2), (10, 5), (101, 50), (4999, 2000), (5000, 2000)])
def test_nice_step_is_one_two_or_five_times_a_power_of_ten_and_reaches_the_maximum(maximum, step):
    assert charts.nice_step(maximum) == step
    assert charts.nice_step(maximum) * 4 >= maximum


def test_bars_share_one_axis_from_zero_and_the_tallest_reaches_the_top_tick():
    chart = charts.grouped_bars([("Jan", {"a": 10, "b": 5}), ("Feb", {"a": 0, "b": 20})], ["a", "b"],
                                width=400, height=200, left=40, bottom=20, top=10, right=0)
    assert [t.value for t in chart.ticks] == [0, 5, 10, 15, 20]
    assert chart.ticks[0].y == chart.baseline == 180 and chart.ticks[-1].y == 10
    jan_a, jan_b, feb_a, feb_b = chart.bars
    assert feb_b.y == 10 and feb_b.height == 170           # the maximum fills the plot
    assert jan_a.height == 85 and jan_b.height == 42.5     # proportional
    assert feb_a.height == 0 and feb_a.y == 180            # an empty bar sits on the baseline
    assert jan_a.x < jan_b.x < feb_a.x < feb_b.x and all(b.x >= 40 and b.x + b.width <= 400 for b in chart.bars)
    assert [(l.text, l.x) for l in chart.labels] == [("Jan", 130), ("Feb", 310)]


def test_an_empty_chart_still_has_an_axis():
    chart = charts.grouped_bars([("Jan", {})], ["a"])
    assert [t.value for t in chart.ticks] == [0, 1, 2, 3, 4] and chart.bars[0].height == 0


def test_monthly_bars_label_months_by_name():
    class Month:
        def __init__(self, start, referrals, wins):
            self.start, self.referrals, self.wins = start, referrals, wins

    chart = charts.monthly_bars([Month(date(2024, 12, 1), 3, 1), Month(date(2025, 1, 1), 0, 2)])
    assert [l.text for l in chart.labels] == ["Dec", "Jan"]
    assert [(b.series, b.value) for b in chart.bars] == [("referrals", 3), ("wins", 1), ("referrals", 0), ("wins", 2)]
