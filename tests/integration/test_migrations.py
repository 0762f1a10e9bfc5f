"""The migrations build exactly the schema the models describe (so `portal init` is trustworthy)."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from portal import create_app
from portal.extensions import db as _db


def test_migrations_match_the_models(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path), "SANDBOX_CRMS": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'migrated.db'}"})
    with app.app_context():
        upgrade()
        with _db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"render_as_batch": True}), _db.metadata)
    assert diff == [], f"models and migrations differ; run `flask --app portal db migrate`: {diff}"


def test_init_is_idempotent(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path), "SANDBOX_CRMS": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'init.db'}"})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["portal", "init"]).exit_code == 0
    result = runner.invoke(args=["portal", "init"])
    assert result.exit_code == 0 and "up to date" in result.output
