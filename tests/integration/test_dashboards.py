"""Dashboard figures against a known scene: counts, Decimal sums per currency, monthly buckets."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from portal.extensions import db as _db
from portal.models import Commission, Referral
from portal.services import activity, reports, statuses

from tests.factories import OrganizationFactory, ReferralFactory, internal_user, partner_user

NOW = datetime.now(timezone.utc)


def _referral(org, stage: str, value: str | None = "1000", currency: str = "USD", submitted_by=None,
              commission: tuple[str, str, str] | None = None, **kwargs):
    referral = ReferralFactory(partner_org=org, stage=stage, status=stage, currency=currency,
                               estimated_value=Decimal(value) if value is not None else None,
                               **({"submitted_by": submitted_by} if submitted_by else {}), **kwargs)
    if stage.startswith("won"):
        referral.won_amount, referral.won_at = Decimal("10000"), kwargs.get("won_at", NOW)
    if commission:
        amount, commission_currency, status = commission
        _db.session.add(Commission(referral=referral, partner_org_id=org.id, amount=Decimal(amount),
                                   currency=commission_currency, status=status))
    _db.session.commit()
    return referral


@pytest.fixture
def scene(db):
    """Northwind: one referral per stage, two currencies. Southwind: big numbers that Northwind must never see."""
    north = OrganizationFactory(name="Northwind")
    south = OrganizationFactory(name="Southwind")
    jane = partner_user("partner_admin", organization=north, name="Jane")
    paul = partner_user("partner_user", organization=north, name="Paul")
    _referral(north, "submitted", "1000.10", submitted_by=paul)
    _referral(north, "accepted", "500", "EUR", submitted_by=jane)
    _referral(north, "sent_to_reseller", "0.20", submitted_by=jane)
    _referral(north, "rejected", "700", submitted_by=paul)
    _referral(north, "lost", "800", submitted_by=jane)
    _referral(north, "won_payment_pending", "900", submitted_by=paul, commission=("1000.10", "USD", "pending"))
    _referral(north, "won_payment_completed", "900", submitted_by=jane, commission=("250.50", "EUR", "paid"))
    _referral(north, "won_payment_completed", "900", submitted_by=jane, commission=("0.20", "USD", "approved"))
    for _ in range(3):
        _referral(south, "submitted", "99999", commission=None)
    _referral(south, "won_payment_pending", "5", commission=("7777.00", "USD", "pending"))
    return {"north": north, "south": south, "jane": jane, "paul": paul}


def test_partner_figures_cover_only_their_organization_with_decimal_sums_per_currency(scene):
    overview = reports.overview(scene["jane"])
    counts = {s.key: s.count for s in overview.by_status}
    assert counts == {"submitted": 1, "accepted": 1, "sent_to_reseller": 1, "rejected": 1,
                      "won_payment_pending": 1, "won_payment_completed": 2, "lost": 1}
    assert (overview.total, overview.open, overview.won) == (8, 3, 3)
    assert overview.pipeline == {"EUR": Decimal("500.00"), "USD": Decimal("1000.30")}
    assert all(isinstance(v, Decimal) for v in overview.pipeline.values())
    assert overview.commissions_pending == {"USD": Decimal("1000.30")}  # pending and approved
    assert overview.commissions_paid == {"EUR": Decimal("250.50")}


def test_partner_users_figures_follow_what_they_may_see(scene):
    overview = reports.overview(scene["paul"])  # sees only what he submitted
    assert overview.total == 3 and overview.won == 1
    assert overview.pipeline == {"USD": Decimal("1000.10")}
    assert overview.commissions_pending == {"USD": Decimal("1000.10")} and overview.commissions_paid == {}


def test_internal_figures_cover_all_partners_with_queue_size_and_top_partners(scene):
    overview = reports.overview(internal_user("manager"))
    assert overview.total == 12 and overview.open == 6
    assert overview.pipeline == {"EUR": Decimal("500.00"), "USD": Decimal("300997.30")}
    assert overview.commissions_pending == {"USD": Decimal("8777.30")}
    assert reports.review_queue_size() == 4
    top = reports.top_partners()
    assert [(p.name, p.referrals, p.wins) for p in top] == [("Northwind", 8, 3), ("Southwind", 4, 1)]


def test_monthly_buckets_cover_twelve_months_fill_gaps_and_respect_month_edges(db):
    org = OrganizationFactory()
    user = partner_user("partner_admin", organization=org)
    now = datetime(2025, 3, 15, 12, tzinfo=timezone.utc)
    at = lambda *args: datetime(*args, tzinfo=timezone.utc)  # noqa: E731
    _referral(org, "submitted", created_at=at(2025, 3, 1, 0, 0))          # first second of March
    _referral(org, "submitted", created_at=at(2025, 2, 28, 23, 59, 59))   # last second of February
    _referral(org, "submitted", created_at=at(2024, 4, 1, 0, 0))          # first month shown
    _referral(org, "submitted", created_at=at(2024, 3, 31, 23, 59))       # just too old
    _referral(org, "won_payment_pending", created_at=at(2024, 12, 10), won_at=at(2025, 1, 20))
    _referral(org, "won_payment_completed", created_at=at(2024, 12, 11), won_at=at(2025, 1, 31, 23, 59))
    _referral(OrganizationFactory(), "submitted", created_at=at(2025, 3, 2))  # someone else's

    months = reports.monthly(user, now=now)
    assert [m.start for m in months] == [date(2024 + (3 + i) // 12, (3 + i) % 12 + 1, 1) for i in range(12)]
    by_month = {m.key: (m.referrals, m.wins) for m in months}
    assert by_month["2025-03"] == (1, 0) and by_month["2025-02"] == (1, 0) and by_month["2024-04"] == (1, 0)
    assert by_month["2024-12"] == (2, 0) and by_month["2025-01"] == (0, 2)
    assert sum(r for r, _ in by_month.values()) == 5 and sum(w for _, w in by_month.values()) == 2
    assert by_month["2024-07"] == (0, 0)


def test_partner_dashboard_shows_figures_status_links_and_an_accessible_chart(client, scene):
    statuses.rename("submitted", "Received")
    client.login(scene["jane"])
    html = client.get("/partner/").get_data(as_text=True)
    assert "Welcome, Jane" in html
    assert "1,000.30 USD" in html and "500.00 EUR" in html and "250.50 EUR" in html
    assert "99,999" not in html and "7,777.00" not in html and "Southwind" not in html
    assert 'href="/partner/referrals?status=submitted">Received</a>' in html
    assert 'href="/partner/referrals?status=won_payment_completed"' in html
    chart = html[html.index('<figure class="chart">'):html.index("</figure>")]
    assert 'role="group"' in chart and "<title" in chart and "aria-labelledby" in chart
    # Two drawings (desk and phone) of twelve months; all referrals were made this month: one bar each.
    assert len(re.findall(r'<rect class="chart__bar chart__bar--referrals"', chart)) == 2
    assert len(re.findall(r'class="chart__slot" tabindex="0" role="img"', chart)) == 24
    assert '<div class="visually-hidden"><table>' in chart and NOW.strftime("%B %Y") in chart
    assert "style=" not in html and "<script>" not in html


def test_internal_dashboard_shows_queue_size_top_partners_and_totals_across_partners(client, scene):
    client.login(internal_user("sales"))
    html = client.get("/internal/").get_data(as_text=True)
    assert "Waiting for review" in html and "300,997.30 USD" in html and "8,777.30 USD" in html
    top = html[html.index("Top partners"):]
    assert top.index("Northwind") < top.index("Southwind")
    assert f'href="/internal/referrals?partner_org_id={scene["north"].id}"' in top
    assert 'href="/internal/referrals?status=lost"' in html
    assert "style=" not in html


def test_dashboards_of_a_new_portal_show_zeros_not_errors(client, db):
    client.login(partner_user("partner_admin"))
    html = client.get("/partner/").get_data(as_text=True)
    assert "No referrals yet." in html and "chart__bar--" not in html.split("<figure", 1)[1].split("</svg>")[0]
    client.submit("/logout")
    client.login(internal_user("admin"))
    assert client.get("/internal/").status_code == 200


def test_the_chart_shows_30_days_by_day_a_quarter_by_week_and_a_custom_range_with_its_errors(client, scene):
    client.login(scene["jane"])
    days = client.get("/partner/?range=30d", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in days and 'id="activity"' in days and "last 30 days" in days
    assert days.count('class="chart__slot"') == 2 * 30 and "Referrals submitted and won per day" in days
    weeks = client.get("/partner/?range=quarter").get_data(as_text=True)
    assert "per week" in weeks and '<nav class="nav" aria-label="Main">' in weeks
    custom = client.get(f"/partner/?range=custom&from={NOW.date().replace(day=1).isoformat()}"
                        f"&to={NOW.date().isoformat()}").get_data(as_text=True)
    assert "per day" in custom and 'open>' in custom
    wrong = client.get("/partner/?range=custom&from=2026-05-01&to=2026-04-01").get_data(as_text=True)
    assert "The range&#39;s start must come before its end." in wrong and "last 12 months" in wrong


def test_the_chart_reads_whole_months_from_the_tallies_and_the_partial_months_day_by_day(db):
    """A custom range of months: its partial first and last months count only their days in the range,
    the whole months between count every referral, for an admin (tallies) and a user (own rows) alike."""
    org = OrganizationFactory()
    admin = partner_user("partner_admin", organization=org)
    at = lambda *args: datetime(*args, tzinfo=timezone.utc)  # noqa: E731
    for created in (at(2025, 1, 9, 23, 59), at(2025, 1, 10), at(2025, 1, 31, 23, 59, 59), at(2025, 2, 1),
                    at(2025, 3, 15), at(2025, 5, 20, 23, 59), at(2025, 5, 21)):
        _referral(org, "submitted", submitted_by=admin, created_at=created)
    _referral(org, "won_payment_pending", submitted_by=admin, created_at=at(2024, 12, 1), won_at=at(2025, 4, 2))
    _referral(org, "won_payment_pending", submitted_by=admin, created_at=at(2024, 12, 1), won_at=at(2025, 5, 21))
    _referral(OrganizationFactory(), "submitted", created_at=at(2025, 3, 15))  # someone else's

    for user in (admin, partner_user("partner_user", organization=org)):
        if user is not admin:
            user.organization.members_see_all_referrals = False
            _db.session.commit()
            for referral in _db.session.scalars(_db.select(Referral).where(Referral.partner_org_id == org.id)):
                referral.submitted_by = user
            _db.session.commit()
        chart = activity.activity(user, start=date(2025, 1, 10), end=date(2025, 5, 20))
        assert chart.unit == "month"
        assert [(b.start, b.referrals, b.wins) for b in chart.buckets] == [
            (date(2025, 1, 10), 2, 0), (date(2025, 2, 1), 1, 0), (date(2025, 3, 1), 1, 0),
            (date(2025, 4, 1), 0, 1), (date(2025, 5, 1), 1, 0)]
