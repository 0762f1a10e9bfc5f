"""Internal administration of partner and distributor organizations."""
from __future__ import annotations

from portal.extensions import db as _db
from portal.models import Organization

from tests.factories import OrganizationFactory, internal_user, partner_user


def test_list_searches_filters_and_paginates_on_the_server(client, db):
    for i in range(25):
        OrganizationFactory(name=f"Alpha {i:02d}", tier="gold" if i % 2 else "silver")
    OrganizationFactory(name="Zulu Distribution", distributor=True)
    client.login(internal_user("manager"))

    page = client.get("/internal/organizations").get_data(as_text=True)
    assert "Page 1 of 2" in page and "<html" in page

    fragment = client.get("/internal/organizations?q=zulu", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert "<html" not in html and "Zulu Distribution" in html and "Alpha" not in html
    assert "HX-Request" in fragment.headers["Vary"]

    gold = client.get("/internal/organizations?tier=gold&kind=partner", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Alpha 01" in gold and "Alpha 00" not in gold

    # a boosted request or a history restore needs the whole page
    assert "<html" in client.get("/internal/organizations", headers={"HX-Request": "true", "HX-Boosted": "true"}).get_data(as_text=True)


def test_manager_creates_edits_and_deactivates_a_partner(client, db):
    client.login(internal_user("manager"))
    created = client.submit("/internal/organizations/new", {"name": "Fresh Partner", "kind": "partner",
                                                            "tier": "gold", "domain": "https://www.Fresh.example/",
                                                            "country": "de"})
    assert created.status_code == 303
    org = _db.session.scalar(_db.select(Organization).where(Organization.name == "Fresh Partner"))
    assert (org.domain, org.country, org.tier) == ("fresh.example", "DE", "gold")

    edited = client.submit(f"/internal/organizations/{org.id}/edit", {"name": "Fresh Partner GmbH", "kind": "distributor",
                                                                     "tier": "", "domain": "", "country": ""})
    assert edited.status_code == 303
    assert (org.name, org.kind, org.tier) == ("Fresh Partner GmbH", "distributor", None)

    row = client.submit(f"/internal/organizations/{org.id}/status", {"status": "inactive"}, headers={"HX-Request": "true"})
    assert row.status_code == 200
    assert f'id="org-{org.id}"' in row.get_data(as_text=True) and "Reactivate" in row.get_data(as_text=True)
    assert org.status == "inactive"


def test_invalid_organization_input_shows_field_errors_and_stores_nothing(client, db):
    client.login(internal_user("admin"))
    response = client.submit("/internal/organizations/new", {"name": "", "kind": "vendor", "country": "Germany"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "This field is required." in html and "Not a valid choice" in html and "Two letters" in html
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(Organization)) == 1  # only the vendor


def test_markup_in_names_is_escaped(client, db):
    OrganizationFactory(name="<script>alert(1)</script>")
    client.login(internal_user("admin"))
    html = client.get("/internal/organizations").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_users_list_shows_invitations_and_search(client, db):
    partner_user(name="Pending Person", invited=True)
    client.login(internal_user("admin", name="Ada Admin"))
    html = client.get("/internal/users?q=pending", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Pending Person" in html and "Invited" in html and "Ada Admin" not in html
