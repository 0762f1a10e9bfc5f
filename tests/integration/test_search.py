"""Global search: referrals by company, contact email and number; other kinds; never another partner's."""
from __future__ import annotations

import pytest

from portal.services import search

from tests.factories import (DealRegistrationFactory, OrganizationFactory, ReferralFactory, ReferralLinkFactory,
                             internal_user, partner_user)

HTMX = {"HX-Request": "true"}


@pytest.fixture
def scene(db):
    northwind, southwind = OrganizationFactory(name="Northwind"), OrganizationFactory(name="Southwind")
    jane = partner_user("partner_admin", organization=northwind, email="jane@northwind.example")
    ours = ReferralFactory(partner_org=northwind, submitted_by=jane, company_name="Harbour Analytics",
                           contact_email="grace@harbour-analytics.example", number="R-000042")
    theirs = ReferralFactory(partner_org=southwind, company_name="Harbour Logistics",
                             contact_email="grace@harbour-logistics.example", number="R-000043")
    return {"jane": jane, "ours": ours, "theirs": theirs, "southwind": southwind, "northwind": northwind}


def _kinds(groups) -> dict[str, list]:
    return {g.kind: g.rows for g in groups}


@pytest.mark.parametrize("q", ["Harbour", "harb", "grace@harbour-analytics.example", "R-000042", "r-000042",
                               "analytics grace"])
def test_a_partner_finds_their_referral_by_company_email_or_number_never_another_partners(scene, q):
    found = _kinds(search.search(scene["jane"], q))
    assert found.get("referrals") == [scene["ours"]]


def test_internal_users_find_every_partners_referrals_organizations_and_users(scene):
    manager = internal_user("manager")
    found = _kinds(search.search(manager, "harbour"))
    assert set(found["referrals"]) == {scene["ours"], scene["theirs"]}
    assert _kinds(search.search(manager, "southwind"))["organizations"] == [scene["southwind"]]
    assert _kinds(search.search(manager, "jane@northwind"))["users"] == [scene["jane"]]


def test_partners_search_their_links_and_deals_but_no_organizations_and_no_other_users(scene):
    link = ReferralLinkFactory(user=scene["jane"], partner_org=scene["northwind"], campaign="Harbour newsletter")
    ReferralLinkFactory(campaign="Harbour fair")  # another partner's
    deal = DealRegistrationFactory(partner_org=scene["northwind"], customer_company="Harbour Freight")
    DealRegistrationFactory(partner_org=scene["southwind"], customer_company="Harbour Ferries")
    found = _kinds(search.search(scene["jane"], "harbour"))
    assert found["links"] == [link] and found["deals"] == [deal]
    assert "organizations" not in found
    assert "users" not in _kinds(search.search(scene["jane"], "southwind"))
    assert search.search(scene["jane"], "   ") == [] and search.search(scene["jane"], "'&|!:*") == []


def test_the_navigation_box_answers_htmx_with_grouped_results_and_the_page_without_javascript(client, scene):
    client.login(scene["jane"])
    fragment = client.get("/search?q=harbour", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment and "Referrals" in fragment and "Harbour Analytics" in fragment
    assert f'href="/partner/referrals/{scene["ours"].id}"' in fragment and "Harbour Logistics" not in fragment
    assert client.get("/search?q=", headers=HTMX).get_data(as_text=True) == ""
    page = client.get("/search?q=R-000042").get_data(as_text=True)
    assert '<nav class="nav" aria-label="Main">' in page and "Harbour Analytics" in page
    assert 'id="global-q"' in client.get("/partner/").get_data(as_text=True)
    assert "Nothing matches" in client.get("/search?q=zzzz").get_data(as_text=True)
