"""Sessions that end: sign-out revokes the session and the remember-me token on the server, "sign
out everywhere", the account page lists the sessions, idle and absolute timeouts (issue #15 item 3)."""
from __future__ import annotations

from portal.extensions import db as _db
from portal.models import UserSession
from tests.conftest import TEST_PASSWORD
from tests.factories import partner_user


def _sign_in(client, user, remember=False):
    data = {"email": user.email, "password": TEST_PASSWORD}
    if remember:
        data["remember"] = "y"
    assert client.submit("/login", data).status_code == 303


def _replay(app, cookies: dict[str, str]):
    """A fresh browser holding copies of the cookies; what /account answers it."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value)
    return other.get("/account")


def _cookies(client, *names) -> dict[str, str]:
    return {name: client.get_cookie(name).value for name in names if client.get_cookie(name) is not None}


def test_after_sign_out_the_old_session_and_remember_cookies_lead_to_sign_in(app, client, db):
    user = partner_user()
    _sign_in(client, user, remember=True)
    copied = _cookies(client, "session", "remember_token")
    assert set(copied) == {"session", "remember_token"}
    assert _replay(app, copied).status_code == 200  # the copies work while the session lives
    client.post("/logout", data={"csrf_token": client.csrf_token()})
    for cookies in (copied, {"session": copied["session"]}, {"remember_token": copied["remember_token"]}):
        response = _replay(app, cookies)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    row = _db.session.scalars(_db.select(UserSession).where(UserSession.user_id == user.id)).one()
    assert row.ended_at is not None


def test_sign_out_everywhere_ends_every_session_of_the_user(app, client, db):
    user = partner_user()
    laptop, phone = client, app.test_client()
    _sign_in(laptop, user)
    _sign_in(phone, user, remember=True)
    assert phone.get("/account").status_code == 200
    response = laptop.post("/account/sessions/end-all", data={"csrf_token": laptop.csrf_token()})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    for browser in (laptop, phone):
        answer = browser.get("/account")
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")


def test_the_account_page_lists_the_sessions_with_their_last_use(app, client, db, clock):
    user = partner_user()
    other = app.test_client()
    other.environ_base["HTTP_USER_AGENT"] = "PhoneBrowser/1.0"
    _sign_in(other, user)
    clock.advance(3600)
    _sign_in(client, user)
    page = client.get("/account").get_data(as_text=True)
    assert "Where you are signed in" in page and "PhoneBrowser/1.0" in page
    assert "This one" in page and page.count("UTC</td>") >= 4
    assert "Sign out everywhere" in page


def test_an_idle_session_ends(app, client, db, clock):
    _sign_in(client, partner_user())
    clock.advance(app.config["SESSION_IDLE_TIMEOUT"] - 60)
    assert client.get("/account").status_code == 200   # in use: the idle time starts again
    clock.advance(app.config["SESSION_IDLE_TIMEOUT"] - 60)
    assert client.get("/account").status_code == 200
    clock.advance(app.config["SESSION_IDLE_TIMEOUT"] + 1)
    response = client.get("/account")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_session_in_constant_use_still_ends_at_the_absolute_timeout(app, client, db, clock):
    _sign_in(client, partner_user())
    step = app.config["SESSION_IDLE_TIMEOUT"] // 2
    used = 0
    while used + step < app.config["SESSION_ABSOLUTE_TIMEOUT"]:
        clock.advance(step)
        used += step
        assert client.get("/account").status_code == 200
    clock.advance(step)
    response = client.get("/account")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_remembered_session_outlives_the_browser_session_but_not_its_own_limits(app, client, db, clock):
    user = partner_user()
    _sign_in(client, user, remember=True)
    remember = _cookies(client, "remember_token")
    clock.advance(app.config["SESSION_ABSOLUTE_TIMEOUT"] + 60)   # the browser was closed for a day
    assert _replay(app, remember).status_code == 200
    clock.advance(app.config["REMEMBER_IDLE_TIMEOUT"] + 60)
    assert _replay(app, remember).status_code == 302


def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(app, client, db):
    user = partner_user()
    other = app.test_client()
    _sign_in(other, user)
    _sign_in(client, user)
    response = client.submit("/account/password", {"pw-current_password": TEST_PASSWORD,
                                                    "pw-password": "a-brand-new-password", "pw-confirm": "a-brand-new-password"})
    assert response.status_code == 303
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302
