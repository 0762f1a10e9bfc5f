"""The report engine: filters of every type, sort, columns and totals, checked against plain SQL."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
from sqlalchemy import text

from portal.models import CustomField
from portal.services.reporting import ReportState, build
from tests.factories import OrganizationFactory, ReferralFactory, internal_user, partner_user

REGIONS = ["EMEA", "APAC", "AMER"]


def _state(query: str) -> ReportState:
    return ReportState.from_args("referrals", parse_qs(query, keep_blank_values=True))


@pytest.fixture
def scene(db):
    db.session.add(CustomField(key="cf_region", label="Region", kind="select", options=REGIONS, position=10))
    db.session.add(CustomField(key="cf_seats", label="Seats", kind="number", position=20))
    db.session.commit()
    north, blue = OrganizationFactory(name="Northwind"), OrganizationFactory(name="Bluebird")
    rows = []
    for n in range(24):
        rows.append(ReferralFactory(
            partner_org=north if n % 2 else blue, company_name=f"Company {n:02d}",
            created_at=datetime(2026, 1 + n % 6, 1 + n, 12, tzinfo=timezone.utc),
            estimated_value=Decimal(1000 + n * 10), currency="EUR" if n % 3 == 0 else "USD",
            custom_fields={"cf_region": REGIONS[n % 3], "cf_seats": str(n * 5)}))
    return north, blue, rows


def test_a_custom_field_and_date_range_sorted_with_chosen_columns_equals_sql(db, scene):
    admin = internal_user()
    report = build(admin, "referrals", _state(
        "f1=cf_region&o1=is&v1=EMEA&f2=created_at&o2=between&v2=2026-02-01&w2=2026-05-31"
        "&sort=-estimated_value&cols=company_name,cf_region,estimated_value,number"))
    assert [c.key for c in report.columns] == ["company_name", "cf_region", "estimated_value", "number"]
    got = [(r["company_name"], r["cf_region"], r["estimated_value"], r["number"]) for r in report.page().rows]

    expected = db.session.execute(text(
        "SELECT company_name, estimated_value, number, custom_fields FROM referrals "
        "WHERE created_at >= :low AND created_at < :high ORDER BY estimated_value DESC, id DESC"),
        {"low": datetime(2026, 2, 1), "high": datetime(2026, 6, 1)}).all()
    import json
    want = [(name, "EMEA", value, number) for name, value, number, custom in expected
            if (json.loads(custom) if isinstance(custom, str) else custom).get("cf_region") == "EMEA"]
    assert got == want and len(want) >= 2


def test_number_custom_field_operators_and_totals_per_currency(db, scene):
    admin = internal_user()
    report = build(admin, "referrals", _state("f1=cf_seats&o1=after&v1=50&f2=cf_seats&o2=before&v2=100"))
    rows = db.session.execute(text("SELECT custom_fields, estimated_value, currency FROM referrals")).all()
    import json
    chosen = [(v, c) for custom, v, c in rows
              if 50 < int((json.loads(custom) if isinstance(custom, str) else custom)["cf_seats"]) < 100]
    totals = report.totals()
    assert totals.count == len(chosen) > 0
    sums = dict(totals.sums)["Estimated value"]
    for currency in {c for _, c in chosen}:
        assert sums[currency] == sum(v for v, c in chosen if c == currency)


def test_text_operators_contains_in_empty(db, scene):
    admin = internal_user()
    assert build(admin, "referrals", _state("f1=company_name&o1=contains&v1=ny 0")).totals().count == 10
    assert build(admin, "referrals", _state("f1=company_name&o1=in&v1=Company 01,Company 02")).totals().count == 2
    assert build(admin, "referrals", _state("f1=lost_reason&o1=empty")).totals().count == 24


def test_a_bad_value_is_reported_beside_its_filter_not_a_crash(db, scene):
    report = build(internal_user(), "referrals", _state("f1=created_at&o1=before&v1=yesterday"))
    assert report.state.filters[0].error and "YYYY-MM-DD" in report.state.filters[0].error
    assert report.totals().count == 24


@pytest.mark.parametrize("crafted", [
    "",
    "f1=partner&o1=is&v1={other}",
    "f1=partner_name&o1=contains&v1=Blue",
    "f1=number&o1=contains&v1=%25' OR 1=1 --",
    "f1=company_name&o1=is_not&v1=nothing&f2=company_name&o2=empty",
    "f1=cf_region&o1=in&v1=EMEA,APAC,AMER&sort=partner_name&cols=partner_name,company_name",
    "f1=created_at&o1=after&v1=2000-01-01&f1=stage&o1=in&v1=submitted",
])
def test_a_partners_report_never_contains_another_partners_row(db, scene, crafted):
    north, blue, _ = scene
    jane = partner_user(role="partner_admin", organization=north)
    report = build(jane, "referrals", _state(crafted.format(other=blue.id)))
    ids = {r["_id"] for r in report.page(per_page=1000).rows}
    own = set(db.session.scalars(text("SELECT id FROM referrals WHERE partner_org_id = :org"), {"org": north.id}))
    assert ids <= own
    assert "partner_name" not in [c.key for c in report.columns]


def test_partner_user_sees_only_their_own_referrals(db, scene):
    north, _, rows = scene
    paul = partner_user(organization=north)
    mine = ReferralFactory(partner_org=north, submitted_by=paul)
    report = build(paul, "referrals", _state("f1=stage&o1=is_not&v1=lost"))
    assert [r["number"] for r in report.page().rows] == [mine.number]


def test_commission_and_lead_reports_are_scoped_too(db, scene):
    north, blue, _ = scene
    jane = partner_user(role="partner_admin", organization=north)
    assert build(jane, "commissions", ReportState("commissions")).totals().count == 0
    assert build(jane, "leads", ReportState("leads")).totals().count == 0
    assert "partner" not in build(jane, "commissions", ReportState("commissions")).fields


def test_deal_registration_report_on_a_date_column_and_who_sees_which_deal(db):
    from datetime import date

    from tests.factories import DealRegistrationFactory
    reseller, other = OrganizationFactory(name="Reseller"), OrganizationFactory(name="Other reseller")
    distributor = OrganizationFactory(name="Atlas", kind="distributor")
    deals = [DealRegistrationFactory(partner_org=reseller, expected_close=date(2026, 5, d), amount=Decimal(d * 1000),
                                     status="approved" if d % 2 else "submitted", distributor_org=distributor,
                                     hidden_from_distributor=d == 3) for d in range(1, 7)]
    DealRegistrationFactory(partner_org=other, expected_close=date(2026, 5, 2), status="approved")
    admin = internal_user()
    report = build(admin, "deals", ReportState.from_query(
        "deals", "f1=expected_close&o1=between&v1=2026-05-02&w1=2026-05-05&f2=status&o2=is&v2=approved"
                 "&sort=-amount&cols=number,amount,expected_close"))
    rows = report.page().rows
    expected = db.session.execute(text(
        "SELECT number FROM deal_registrations WHERE expected_close BETWEEN '2026-05-02' AND '2026-05-05' "
        "AND status = 'approved' ORDER BY amount DESC, id DESC")).scalars().all()
    assert [r["number"] for r in rows] == expected and len(expected) == 3
    assert report.display(report.fields["expected_close"], rows[0]) == rows[0]["expected_close"].isoformat()

    seller = partner_user(role="partner_admin", organization=reseller)
    assert build(seller, "deals", ReportState("deals")).totals().count == 6
    atlas = partner_user(role="partner_admin", organization=distributor)
    seen = {r["_id"] for r in build(atlas, "deals", ReportState("deals")).page().rows}
    assert seen == {d.id for d in deals if d.id != deals[2].id}
    assert "vendor_owner" not in build(atlas, "deals", ReportState("deals")).fields
