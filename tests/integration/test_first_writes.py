"""No race on first writes: built-in rows come with the schema, and every get-or-create two
requests can race on lets both through (INSERT … ON CONFLICT DO NOTHING)."""
from __future__ import annotations

import threading

import requests
from flask_migrate import upgrade

from portal import create_app, database
from portal.extensions import db as _db
from portal.models import Referral, ReferralStatus, Setting, Stage
from portal.services import settings, statuses

from tests.conftest import TEST_PASSWORD
from tests.factories import OrganizationFactory, partner_user
from tests.integration.test_submit_once import REFERRAL, hidden_values

CLIENTS = 6


def test_portal_init_stores_one_row_per_builtin_status(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path), "SANDBOX_CRMS": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.db'}"})
    assert app.test_cli_runner().invoke(args=["portal", "init"]).exit_code == 0
    with app.app_context():
        keys = sorted(_db.session.scalars(_db.select(ReferralStatus.key).where(ReferralStatus.builtin.is_(True))))
        assert keys == sorted(stage.value for stage in Stage)
        # An upgrade of a database whose built-in rows went missing stores them again; once.
        _db.session.execute(_db.delete(ReferralStatus).where(ReferralStatus.key == "lost"))
        _db.session.commit()
        upgrade()
    assert app.test_cli_runner().invoke(args=["portal", "init"]).exit_code == 0
    with app.app_context():
        assert _db.session.scalar(_db.select(_db.func.count(ReferralStatus.id))) == len(Stage)


def test_concurrent_first_submissions_at_a_fresh_database_all_succeed_with_one_row_per_status(live_server,
                                                                                             committed_db):
    """Acceptance (#11): a database without the built-in rows (as one built by create_all, or before this
    change); partners submit their first referrals at the same moment."""
    assert committed_db.session.scalar(_db.select(_db.func.count(ReferralStatus.id))) == 0
    users = [partner_user("partner_admin", organization=OrganizationFactory()) for _ in range(CLIENTS)]
    sessions, forms = [], []
    for user in users:
        http = requests.Session()
        login = hidden_values(http.get(f"{live_server}/login", timeout=10).text)
        assert http.post(f"{live_server}/login", data={**login, "email": user.email, "password": TEST_PASSWORD},
                         allow_redirects=False, timeout=10).status_code == 303
        forms.append(hidden_values(http.get(f"{live_server}/partner/referrals/new", timeout=10).text))
        sessions.append(http)
    barrier, statuses_seen = threading.Barrier(CLIENTS), []

    def submit(index: int):
        barrier.wait()
        answer = sessions[index].post(f"{live_server}/partner/referrals/new", timeout=60, allow_redirects=False,
                                      data={**REFERRAL, **forms[index], "contact_email": f"c{index}@navy.example",
                                            "company_name": f"Navy {index}", "company_domain": f"navy{index}.example"})
        statuses_seen.append(answer.status_code)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert statuses_seen == [303] * CLIENTS
    committed_db.session.rollback()
    assert committed_db.session.scalar(_db.select(_db.func.count(Referral.id))) == CLIENTS
    keys = list(committed_db.session.scalars(_db.select(ReferralStatus.key)))
    assert sorted(keys) == sorted(stage.value for stage in Stage)  # one row per built-in status


def test_two_first_saves_of_a_setting_both_succeed(app, committed_db):
    """Two admins saving a setting no one saved yet, at once: both go through, one row."""
    barrier, errors = threading.Barrier(2), []

    def save(days: int):
        # As a request or a job runs it: in a writing context (portal/database.py).
        with app.app_context(), database.writing():
            try:
                barrier.wait()
                settings.update_duplicates(policy="flag", window_days=days)
            except Exception as err:  # the point of the test: no IntegrityError, no "database is locked"
                errors.append(err)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=save, args=(days,)) for days in (30, 60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    committed_db.session.rollback()
    [row] = committed_db.session.scalars(_db.select(Setting).where(Setting.key == "duplicates")).all()
    assert row.value["window_days"] in (30, 60)


def test_ensure_builtin_twice_in_a_row_adds_nothing_the_second_time(db):
    statuses.ensure_builtin()
    statuses.ensure_builtin()
    assert _db.session.scalar(_db.select(_db.func.count(ReferralStatus.id))) == len(Stage)
