"""Signing in and out: hashed passwords, one message for every failure, rate limits, inactive orgs."""
from __future__ import annotations

from portal.extensions import db as _db
from portal.models import User

from tests.factories import OrganizationFactory, internal_user, partner_user


def test_partner_signs_in_and_lands_on_the_partner_dashboard(client, db):
    user = partner_user()
    response = client.login(user)
    assert response.headers["Location"] == "/"
    page = client.get("/", follow_redirects=True)
    assert page.status_code == 200
    assert f"Welcome, {user.name}" in page.get_data(as_text=True)
    assert _db.session.get(User, user.id).last_login_at is not None


def test_passwords_are_stored_hashed(client, db):
    user = partner_user()
    assert user.password_hash.startswith("pbkdf2:sha256")
    assert "correct-horse" not in user.password_hash


def test_wrong_password_and_unknown_email_get_the_same_answer(client, db):
    user = partner_user()
    wrong = client.submit("/login", {"email": user.email, "password": "not-the-password"})
    unknown = client.submit("/login", {"email": "nobody@example.com", "password": "not-the-password"})
    assert wrong.status_code == unknown.status_code == 422
    assert "Invalid email or password." in wrong.get_data(as_text=True)
    assert "Invalid email or password." in unknown.get_data(as_text=True)


def test_ten_wrong_passwords_then_429_with_a_message(client, db):
    user = partner_user()
    for _ in range(10):
        assert client.submit("/login", {"email": user.email, "password": "wrong-password"}).status_code == 422
    blocked = client.submit("/login", {"email": user.email, "password": "correct-horse-battery"})
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)


def test_users_of_an_inactive_organization_cannot_sign_in(client, db):
    user = partner_user(organization=OrganizationFactory(inactive=True))
    response = client.submit("/login", {"email": user.email, "password": "correct-horse-battery"})
    assert response.status_code == 422
    assert "not active" in response.get_data(as_text=True)
    assert client.get("/partner/").status_code == 302


def test_deactivating_an_organization_ends_its_users_sessions(client, db):
    user = partner_user()
    client.login(user)
    assert client.get("/partner/").status_code == 200
    user.organization.status = "inactive"
    _db.session.commit()
    assert client.get("/partner/").status_code == 302


def test_remember_me_sets_a_lasting_cookie(client, db):
    user = partner_user()
    response = client.submit("/login", {"email": user.email, "password": "correct-horse-battery", "remember": "y"})
    assert response.status_code == 303
    assert any(c.startswith("remember_token=") for c in response.headers.getlist("Set-Cookie"))


def test_logout_needs_a_post_and_signs_out(client, db):
    client.login(partner_user())
    assert client.get("/logout").status_code == 405
    assert client.submit("/logout").status_code == 303
    assert client.get("/partner/").status_code == 302


def test_a_post_without_the_csrf_token_is_refused(client, db):
    user = partner_user()
    response = client.post("/login", data={"email": user.email, "password": "correct-horse-battery"})
    assert response.status_code == 400
    client.login(user)
    assert client.post("/logout").status_code == 400
    assert client.post("/account", data={"name": "X"}).status_code == 400


def test_next_parameter_cannot_send_the_user_off_site(client, db):
    user = internal_user()
    response = client.post("/login?next=https://evil.example/",
                           data={"email": user.email, "password": "correct-horse-battery",
                                 "csrf_token": client.csrf_token()})
    assert response.headers["Location"] == "/"
    client.submit("/logout")
    response = client.post("/login?next=/internal/users",
                           data={"email": user.email, "password": "correct-horse-battery",
                                 "csrf_token": client.csrf_token()})
    assert response.headers["Location"] == "/internal/users"


def test_changing_the_password_signs_out_other_sessions(app, client, db):
    user = partner_user()
    other = app.test_client()
    other.login(user)
    client.login(user)
    response = client.submit("/account/password", {"pw-current_password": "correct-horse-battery",
                                                    "pw-password": "a-brand-new-secret", "pw-confirm": "a-brand-new-secret"})
    assert response.status_code == 303
    assert client.get("/partner/").status_code == 200
    assert other.get("/partner/").status_code == 302
