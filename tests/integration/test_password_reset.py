"""Password reset: the mail reaches a real SMTP server, and its link works exactly once."""
from __future__ import annotations

from portal.extensions import db as _db
from portal.models import EmailMessage

from tests.conftest import extract_link
from tests.factories import partner_user
from tests.integration.conftest import body


def test_reset_mail_arrives_over_smtp_and_its_link_works_once(client, db, smtp_server, run_jobs):
    user = partner_user()
    response = client.submit("/forgot-password", {"email": user.email})
    assert response.status_code == 303
    assert smtp_server.messages == []  # nothing leaves before the worker runs

    run_jobs()

    [message] = smtp_server.to(user.email)
    assert message["Subject"] == "Reset your Referral Portal password"
    link = extract_link(body(message), "/reset-password/")
    assert link in body(message, "html")
    path = link.removeprefix("http://portal.test")

    assert client.get(path).status_code == 200
    done = client.submit(path, {"password": "a-fresh-password-1", "confirm": "a-fresh-password-1"})
    assert done.status_code == 303
    client.login(user, password="a-fresh-password-1")
    client.submit("/logout")

    again = client.get(path)
    assert again.status_code == 410
    assert "no longer works" in again.get_data(as_text=True)
    reused = client.submit(path, {"password": "another-password-2", "confirm": "another-password-2"})
    assert reused.status_code == 410
    client.login(user, password="a-fresh-password-1")

    sent = _db.session.scalars(_db.select(EmailMessage)).one()
    assert (sent.status, sent.transport, sent.attempts) == ("sent", "smtp", 1)


def test_reset_for_an_unknown_email_says_the_same_and_sends_nothing(client, db, smtp_server, run_jobs):
    response = client.submit("/forgot-password", {"email": "nobody@example.com"}, follow_redirects=True)
    assert "If that address has an account" in response.get_data(as_text=True)
    run_jobs()
    assert smtp_server.messages == []


def test_an_expired_reset_link_is_refused(app, client, db, run_jobs, clock):
    user = partner_user()
    client.submit("/forgot-password", {"email": user.email})
    message = _db.session.scalars(_db.select(EmailMessage)).one()
    path = extract_link(message.text_body, "/reset-password/").removeprefix("http://portal.test")
    clock.advance(app.config["PASSWORD_RESET_MAX_AGE"] - 5)
    assert client.get(path).status_code == 200
    clock.advance(10)
    assert client.get(path).status_code == 410


def test_a_weak_new_password_is_refused_next_to_its_field(client, db, run_jobs):
    user = partner_user()
    client.submit("/forgot-password", {"email": user.email})
    message = _db.session.scalars(_db.select(EmailMessage)).one()
    path = extract_link(message.text_body, "/reset-password/").removeprefix("http://portal.test")
    response = client.submit(path, {"password": "short", "confirm": "short"})
    assert response.status_code == 422
    assert "at least 10 characters" in response.get_data(as_text=True)
    # the link still works after a rejected attempt
    assert client.get(path).status_code == 200


def test_failed_smtp_delivery_is_recorded_on_the_row_and_retried(app, client, db, run_jobs, monkeypatch):
    user = partner_user()
    monkeypatch.setitem(app.config, "SMTP_URL", "smtp://127.0.0.1:1?starttls=false&timeout=2")  # nothing listens
    client.submit("/forgot-password", {"email": user.email})
    run_jobs()
    message = _db.session.scalars(_db.select(EmailMessage)).one()
    assert message.status == "queued"
    assert message.attempts == 1
    assert "ConnectionRefusedError" in message.last_error
    # RQ holds the retry in its scheduled registry with a backoff
    from portal.jobs import queues
    scheduled = queues.queue("mail").scheduled_job_registry.get_job_ids()
    assert scheduled == [f"mail-{message.id}"]
