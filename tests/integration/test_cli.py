"""`flask portal ...` commands."""
from __future__ import annotations

from portal.extensions import db as _db
from portal.models import Organization, User
from portal.services import demo


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


def test_healthz_reports_database_and_queue(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "queue": "ok"}
