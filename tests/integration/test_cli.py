"""`flask portal ...` commands."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from portal.extensions import db as _db
from portal.models import Commission, Organization, Referral, Stage, User
from portal.cli import demo


def test_seed_demo_creates_the_demo_once_and_prints_the_logins(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["portal", "seed-demo"])
    assert first.exit_code == 0, first.output
    assert "jane@northwind.example" in first.output and demo.DEMO_PASSWORD in first.output
    count = _db.session.scalar(_db.select(_db.func.count()).select_from(User))
    second = runner.invoke(args=["portal", "seed-demo"])
    assert "already there" in second.output
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(User)) == count
    roles = set(_db.session.scalars(_db.select(User.role)))
    assert roles == {"admin", "manager", "sales", "partner_admin", "partner_user"}
    kinds = dict(_db.session.execute(_db.select(Organization.kind, _db.func.count()).group_by(Organization.kind)).all())
    assert kinds == {"vendor": 1, "partner": 3, "distributor": 1}
    assert _db.session.scalar(_db.select(Organization.name).where(Organization.kind == "vendor")) == "Acme Cloud"


def test_demo_partner_can_sign_in_with_the_printed_password(app, client, db):
    app.test_cli_runner().invoke(args=["portal", "seed-demo"])
    response = client.submit("/login", {"email": "jane@northwind.example", "password": demo.DEMO_PASSWORD})
    assert response.status_code == 303


def test_create_user(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["portal", "create-user", "--email", "Ops@Acme.example", "--name", "Ops",
                                 "--role", "admin", "--password", "a-long-password"])
    assert result.exit_code == 0, result.output
    user = _db.session.scalar(_db.select(User).where(User.email == "ops@acme.example"))
    assert user.organization.kind == "vendor" and user.password_hash != "a-long-password"
    dup = runner.invoke(args=["portal", "create-user", "--email", "ops@acme.example", "--name", "Ops",
                              "--role", "admin", "--password", "a-long-password"])
    assert dup.exit_code != 0 and "already exists" in dup.output


def test_seed_bench_bulk_inserts_partners(app, db):
    result = app.test_cli_runner().invoke(args=["portal", "seed-bench", "--partners", "300"])
    assert result.exit_code == 0, result.output
    assert "partners: 300" in result.output
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(Organization)
                              .where(Organization.name.like("Bench Partner%"))) == 300


def test_seed_bench_spreads_referrals_over_partners_stages_and_the_last_year_with_a_heavy_partner(app, db):
    result = app.test_cli_runner().invoke(args=["portal", "seed-bench", "--partners", "4", "--referrals", "900",
                                                "--heavy-partner-referrals", "600"])
    assert result.exit_code == 0, result.output
    printed = dict(re.findall(r"^(\w+): (.*)$", result.output, flags=re.MULTILINE))
    assert (printed["partners"], printed["referrals"], printed["heavy_partner_referrals"]) == ("4", "900", "600")

    heavy_admin = _db.session.scalar(_db.select(User).where(User.email == printed["heavy_partner_admin"]))
    assert heavy_admin.organization.name.endswith("-00000") and heavy_admin.role == "partner_admin"
    per_partner = dict(_db.session.execute(_db.select(Referral.partner_org_id, _db.func.count())
                                           .group_by(Referral.partner_org_id)).all())
    assert per_partner.pop(heavy_admin.organization_id) == 600
    assert sorted(per_partner.values()) == [100, 100, 100]
    assert all(r.submitted_by.organization_id == r.partner_org_id for r in _db.session.scalars(
        _db.select(Referral).limit(50)))

    stages = dict(_db.session.execute(_db.select(Referral.stage, _db.func.count()).group_by(Referral.stage)).all())
    assert set(stages) == {s.value for s in Stage}
    oldest, newest = _db.session.execute(_db.select(_db.func.min(Referral.created_at),
                                                    _db.func.max(Referral.created_at))).one()
    now = datetime.now(timezone.utc)
    assert now - timedelta(days=366) < oldest and newest <= now and newest - oldest > timedelta(days=300)

    won = stages["won_payment_pending"] + stages["won_payment_completed"]
    assert printed["commissions"] == str(won)
    paid = _db.session.scalars(_db.select(Commission).where(Commission.status == "paid")).all()
    assert len(paid) == stages["won_payment_completed"]
    sample = paid[0]
    assert sample.amount == sample.referral.won_amount / 10 and sample.paid_at is not None


def test_seed_bench_heavy_partner_admin_signs_in_and_sees_its_referrals_on_the_dashboard(app, client, db):
    result = app.test_cli_runner().invoke(args=["portal", "seed-bench", "--partners", "3", "--referrals", "60",
                                                "--heavy-partner-referrals", "40"])
    email = re.search(r"^heavy_partner_admin: (\S+)$", result.output, flags=re.MULTILINE).group(1)
    assert client.submit("/login", {"email": email, "password": demo.DEMO_PASSWORD}).status_code == 303
    page = client.get("/partner/").get_data(as_text=True)
    assert re.search(r'<p class="kpi__label">Referrals</p>\s*<p class="kpi__value">40</p>', page)


def test_seed_bench_refuses_more_heavy_referrals_than_referrals(app, db):
    result = app.test_cli_runner().invoke(args=["portal", "seed-bench", "--partners", "2", "--referrals", "10",
                                                "--heavy-partner-referrals", "11"])
    assert result.exit_code != 0 and "cannot be more than --referrals" in result.output


def test_healthz_reports_database_and_queue(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "queue": "ok"}
