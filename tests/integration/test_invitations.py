"""Invitations: internal admins invite anyone, partner admins their own organization."""
from __future__ import annotations

from portal.extensions import db as _db
from portal.models import EmailMessage, User

from tests.conftest import extract_link
from tests.factories import OrganizationFactory, internal_user, partner_user
from tests.integration.conftest import body


def test_admin_invites_a_partner_user_who_then_chooses_a_password(client, db, smtp_server, run_jobs):
    partner = OrganizationFactory(name="Northwind")
    client.login(internal_user("admin"))
    response = client.submit("/internal/users/invite", {"name": "Nina New", "email": "Nina@Northwind.example",
                                                        "organization_id": partner.id, "role": "partner_user"})
    assert response.status_code == 303
    invited = _db.session.scalar(_db.select(User).where(User.email == "nina@northwind.example"))
    assert invited.password_hash is None and invited.organization_id == partner.id
    client.submit("/logout")

    run_jobs()
    [message] = smtp_server.to("nina@northwind.example")
    path = extract_link(body(message), "/invitation/").removeprefix("http://portal.test")
    assert "Welcome, Nina New" in client.get(path).get_data(as_text=True)
    assert client.submit(path, {"password": "nina-secret-pass", "confirm": "nina-secret-pass"}).status_code == 303
    client.login(invited, password="nina-secret-pass")
    assert client.get(path).status_code == 410


def test_an_invited_user_cannot_sign_in_before_accepting(client, db):
    user = partner_user(invited=True)
    response = client.submit("/login", {"email": user.email, "password": ""})
    assert response.status_code == 422


def test_partner_admin_invites_into_their_own_organization_only(client, db):
    admin = partner_user(role="partner_admin")
    client.login(admin)
    response = client.submit("/partner/team/invite", {"name": "Colleague", "email": "colleague@example.com",
                                                      "role": "partner_user"})
    assert response.status_code == 303
    colleague = _db.session.scalar(_db.select(User).where(User.email == "colleague@example.com"))
    assert colleague.organization_id == admin.organization_id
    # no way to name another organization or an internal role
    response = client.submit("/partner/team/invite", {"name": "Boss", "email": "boss@example.com", "role": "admin"})
    assert response.status_code == 422
    assert _db.session.scalar(_db.select(User).where(User.email == "boss@example.com")) is None


def test_partner_user_cannot_invite(client, db):
    client.login(partner_user(role="partner_user"))
    # A partner never learns of pages it may not use (web/guards.py, refused()).
    assert client.get("/partner/team/invite").status_code == 404


def test_partner_admin_cannot_touch_another_organizations_user(client, db):
    stranger = partner_user()
    client.login(partner_user(role="partner_admin"))
    assert client.submit(f"/partner/team/{stranger.id}/status", {"active": "0"}).status_code == 404
    assert _db.session.get(User, stranger.id).active is True


def test_inviting_an_existing_email_shows_a_field_error(client, db):
    existing = partner_user()
    client.login(internal_user("admin"))
    response = client.submit("/internal/users/invite", {"name": "Dup", "email": existing.email,
                                                        "organization_id": existing.organization_id,
                                                        "role": "partner_user"})
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)


def test_two_admins_inviting_the_same_person_at_once_the_second_gets_the_field_error(client, db, monkeypatch):
    from portal.services import accounts

    existing = partner_user()
    client.login(internal_user("admin"))
    # The other admin's invitation committed after this one checked the email: the check saw nothing.
    monkeypatch.setattr(accounts, "find_by_email", lambda email: None)
    response = client.submit("/internal/users/invite", {"name": "Dup", "email": existing.email,
                                                        "organization_id": existing.organization_id,
                                                        "role": "partner_user"})
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(User).where(User.email == existing.email)) == 1
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(EmailMessage)) == 0


def test_invitation_mail_without_smtp_is_captured_for_the_dev_mail_page(client, db, run_jobs):
    partner = OrganizationFactory()
    client.login(internal_user("admin"))
    client.submit("/internal/users/invite", {"name": "Cap Ture", "email": "capture@example.com",
                                             "organization_id": partner.id, "role": "partner_admin"})
    run_jobs()
    message = _db.session.scalars(_db.select(EmailMessage)).one()
    assert (message.status, message.transport) == ("sent", "capture")
    listing = client.get("/dev/mail").get_data(as_text=True)
    assert "capture@example.com" in listing and "invited you" in listing
    assert "/invitation/" in client.get(f"/dev/mail/{message.id}").get_data(as_text=True)
