"""Two-step sign-in: TOTP enrolment, sign-in with a code, wrong and reused codes, recovery codes
used once, a reset by another admin (audited), per-organization enforcement, the code step's rate
limit (issue #15 item 6)."""
from __future__ import annotations

import re

import pyotp
import pytest

from portal.extensions import db as _db
from portal.models import AuditEvent, RecoveryCode, User
from tests.conftest import TEST_PASSWORD
from tests.factories import internal_user, partner_user


@pytest.fixture
def mfa_required(app, monkeypatch):
    monkeypatch.setitem(app.config, "MFA_REQUIRED_ROLES", "admin,manager")


def _password_step(client, user):
    return client.submit("/login", {"email": user.email, "password": TEST_PASSWORD})


def _enrol(client, clock) -> tuple[str, list[str]]:
    """Read the key from the enrolment page and confirm it with a code; the secret and recovery codes."""
    page = client.get(client.enrol_path).get_data(as_text=True)
    secret = re.search(r'data-mfa-secret="([A-Z2-7]+)"', page).group(1)
    assert 'src="data:image/svg+xml' in page  # the QR code
    done = client.submit(client.enrol_path, {"code": _code(secret, clock)})
    assert done.status_code == 200, done.get_data(as_text=True)[:300]
    codes = re.findall(r"<code>([0-9a-f]{8}-[0-9a-f]{8})</code>", done.get_data(as_text=True))
    clock.advance(31)  # the next code is a new time step
    return secret, codes


def _code(secret: str, clock) -> str:
    """What the user's app shows now, by the portal's clock (the tests move it)."""
    return pyotp.TOTP(secret).at(clock.now())


def _signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def test_an_admin_must_enrol_at_the_next_sign_in_and_then_signs_in_with_a_code(app, client, db, clock, mfa_required):
    admin = internal_user("admin")
    response = _password_step(client, admin)
    assert response.status_code == 303 and response.headers["Location"] == "/login/enrol"
    assert not _signed_in(client)  # the password alone signs nobody in
    client.enrol_path = "/login/enrol"
    secret, codes = _enrol(client, clock)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert _signed_in(client)
    stored = _db.session.get(User, admin.id)
    assert secret not in (stored.mfa_secret_encrypted or "")
    hashes = set(_db.session.scalars(_db.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == admin.id)))
    assert len(hashes) == 10 and not hashes & set(codes)

    fresh = app.test_client()
    response = _password_step(fresh, admin)
    assert response.headers["Location"] == "/login/code"
    wrong = fresh.submit("/login/code", {"code": "000000" if _code(secret, clock) != "000000" else "111111"})
    assert wrong.status_code == 422 and "not right" in wrong.get_data(as_text=True)
    assert not _signed_in(fresh)
    right = fresh.submit("/login/code", {"code": _code(secret, clock)})
    assert right.status_code == 303 and _signed_in(fresh)


def test_a_code_works_once(app, client, db, clock, mfa_required):
    admin = internal_user("admin")
    _password_step(client, admin)
    client.enrol_path = "/login/enrol"
    secret, _ = _enrol(client, clock)
    code = _code(secret, clock)
    first, second = app.test_client(), app.test_client()
    _password_step(first, admin)
    assert first.submit("/login/code", {"code": code}).status_code == 303
    _password_step(second, admin)
    replay = second.submit("/login/code", {"code": code})
    assert replay.status_code == 422 and "used already" in replay.get_data(as_text=True)


def test_a_recovery_code_signs_in_once(app, client, db, clock, mfa_required):
    admin = internal_user("manager")
    _password_step(client, admin)
    client.enrol_path = "/login/enrol"
    _, codes = _enrol(client, clock)
    browser = app.test_client()
    _password_step(browser, admin)
    used = browser.submit("/login/code", {"code": codes[3].upper()})
    assert used.status_code == 303 and _signed_in(browser)
    assert "9 recovery codes left" in browser.get("/account").get_data(as_text=True)
    again = app.test_client()
    _password_step(again, admin)
    assert again.submit("/login/code", {"code": codes[3]}).status_code == 422
    assert not _signed_in(again)


def test_another_admin_resets_a_lost_second_factor_and_it_is_audited(app, client, db, clock, mfa_required):
    manager = internal_user("manager")
    _password_step(client, manager)
    client.enrol_path = "/login/enrol"
    _enrol(client, clock)
    admin = internal_user("admin", mfa_secret_encrypted=None)
    admin_client = app.test_client()
    # The admin is enrolled too (required), then resets the manager's factor.
    _password_step(admin_client, admin)
    admin_client.enrol_path = "/login/enrol"
    _enrol(admin_client, clock)
    listing = admin_client.get("/internal/users").get_data(as_text=True)
    assert f"/internal/users/{manager.id}/mfa-reset" in listing
    assert admin_client.submit(f"/internal/users/{manager.id}/mfa-reset").status_code == 303
    assert _db.session.get(User, manager.id).mfa_secret_encrypted is None
    assert not _signed_in(client)  # the manager's sessions ended with the reset
    event = _db.session.scalars(_db.select(AuditEvent).where(AuditEvent.action == "mfa.reset")).one()
    assert (event.actor_id, event.entity_id, event.changes) == (admin.id, str(manager.id),
                                                                 {"enrolled": [True, False]})
    again = app.test_client()
    assert _password_step(again, manager).headers["Location"] == "/login/enrol"
    # Nobody resets their own.
    assert admin_client.submit(f"/internal/users/{admin.id}/mfa-reset").status_code == 422


def test_partner_users_may_enrol_and_their_admins_may_require_it(app, client, db, clock):
    member = partner_user()
    admin = partner_user(role="partner_admin", organization=member.organization)
    assert _password_step(client, member).headers["Location"] == "/"   # optional: not asked
    client.enrol_path = "/account/mfa"
    _enrol(client, clock)
    assert "Two-step sign-in" in client.get("/account").get_data(as_text=True)

    colleague = partner_user(organization=member.organization)
    admin_client = app.test_client()
    _password_step(admin_client, admin)
    assert admin_client.submit("/partner/team/mfa", {"mfa_required": "y"}).status_code == 303
    browser = app.test_client()
    assert _password_step(browser, colleague).headers["Location"] == "/login/enrol"


def test_the_code_step_is_rate_limited_like_the_password_step(app, client, db, clock, mfa_required):
    admin = internal_user("admin")
    _password_step(client, admin)
    client.enrol_path = "/login/enrol"
    _enrol(client, clock)
    attacker = app.test_client()
    _password_step(attacker, admin)
    for _ in range(10):
        assert attacker.submit("/login/code", {"code": "123456"}).status_code in (422,)
    assert attacker.submit("/login/code", {"code": "123456"}).status_code == 429


def test_a_pending_code_step_expires(app, client, db, clock, mfa_required):
    admin = internal_user("admin")
    _password_step(client, admin)
    clock.advance(app.config["MFA_PENDING_MAX_AGE"] + 1)
    response = client.get("/login/enrol")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
