"""Partners never reach internal pages: every internal route answers them 404."""
from __future__ import annotations


import pytest

from tests.conftest import routes_of
from tests.factories import OrganizationFactory, internal_user, partner_user


@pytest.mark.parametrize("role", ["partner_admin", "partner_user"])
def test_partner_gets_404_on_every_internal_route(app, client, db, role):
    OrganizationFactory()  # so that id 1 exists for routes that take an id
    client.login(partner_user(role=role))
    urls = routes_of(app, "internal")
    assert len(urls) >= 10
    for method, path in urls:
        if method == "GET":
            response = client.get(path)
        else:
            response = client.open(path, method=method, data={"csrf_token": client.csrf_token()})
        assert response.status_code == 404, f"{method} {path} answered {response.status_code}"


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get("/internal/organizations")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_internal_users_get_404_on_partner_pages(client, db):
    client.login(internal_user("manager"))
    assert client.get("/partner/").status_code == 404
    assert client.get("/partner/team").status_code == 404


def test_sales_users_cannot_manage_organizations(client, db):
    org = OrganizationFactory()
    client.login(internal_user("sales"))
    assert client.get("/internal/organizations").status_code == 200
    assert client.get("/internal/organizations/new").status_code == 403
    assert client.submit(f"/internal/organizations/{org.id}/status", {"status": "inactive"}).status_code == 403


def test_error_pages_are_styled(client, db):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found" in html and "css/app.css" in html


def test_pages_forbid_framing_and_sniffing(client, db):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
