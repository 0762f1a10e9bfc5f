"""The report page over HTTP: state in the URL, htmx fragments, saved views and who sees them."""
from __future__ import annotations

import re

import pytest

from portal.models import SavedView
from tests.factories import OrganizationFactory, ReferralFactory, internal_user, partner_user


@pytest.fixture
def north(db):
    return OrganizationFactory(name="Northwind")


def test_report_page_renders_state_from_the_url_and_htmx_gets_the_fragment(client, db, north):
    jane = partner_user(role="partner_admin", organization=north)
    ReferralFactory(partner_org=north, company_name="Alpha GmbH")
    ReferralFactory(partner_org=north, company_name="Beta Ltd")
    ReferralFactory(company_name="Other Partner Co")
    client.login(jane)
    page = client.get("/reports/referrals?f1=company_name&o1=contains&v1=alpha&cols=company_name,status")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html
    assert "Alpha GmbH" in html and "Beta Ltd" not in html and "Other Partner Co" not in html
    assert 'data-total="count">1<' in html
    fragment = client.get("/reports/referrals?sort=company_name", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and text.index("Alpha GmbH") < text.index("Beta Ltd")
    assert "Other Partner Co" not in text


def test_unknown_report_is_404_and_signed_out_goes_to_login(client, db):
    assert client.get("/reports/referrals").status_code in (302, 303)
    client.login(internal_user())
    assert client.get("/reports/nothing").status_code == 404


def _save(client, name, sharing, query="f1=stage&o1=is&v1=submitted", pin=False):
    data = {"name": name, "sharing": sharing, "query": query}
    if pin:
        data["pin"] = "y"
    response = client.submit("/reports/referrals/views", data)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return int(re.search(r"/views/(\d+)", response.headers["Location"]).group(1))


def test_saved_view_sharing_is_visible_to_exactly_the_right_people(app, db, north):
    jane = partner_user(role="partner_admin", organization=north)
    paul = partner_user(organization=north)
    bella = partner_user(role="partner_admin", organization=OrganizationFactory(name="Bluebird"))
    manager, admin = internal_user("manager"), internal_user("admin")

    views = {}
    if c := app.test_client():
        c.login(jane)
        views["jane_private"] = _save(c, "Jane private", "private")
        views["jane_org"] = _save(c, "Northwind shared", "organization")
        # A partner cannot share with all internal users.
        refused = c.submit("/reports/referrals/views", {"name": "x", "sharing": "internal", "query": ""})
        assert refused.status_code == 422
    if c := app.test_client():
        c.login(manager)
        views["manager_private"] = _save(c, "Manager private", "private")
        views["manager_internal"] = _save(c, "Pipeline for all of us", "internal", pin=True)

    expected = {
        jane: {"jane_private", "jane_org"},
        paul: {"jane_org"},
        bella: set(),
        manager: {"manager_private", "manager_internal"},
        admin: {"manager_internal"},
    }
    for user, visible in expected.items():
        if c := app.test_client():
            c.login(user)
            for key, view_id in views.items():
                status = c.get(f"/reports/views/{view_id}").status_code
                assert (status == 302) == (key in visible), (user.email, key, status)
            listing = c.get("/reports/referrals").get_data(as_text=True)
            names = {key for key, view_id in views.items() if f'/reports/views/{view_id}"' in listing}
            assert names == visible, user.email
    # Only the owner changes a view; to everyone else it does not exist.
    if c := app.test_client():
        c.login(paul)
        assert c.submit(f"/reports/views/{views['jane_org']}", {"edit-name": "Mine now", "edit-sharing": "private"}
                        ).status_code == 404
        assert c.submit(f"/reports/views/{views['jane_org']}/delete").status_code == 404
    if c := app.test_client():
        c.login(bella)
        assert c.submit(f"/reports/views/{views['jane_private']}/pin", {"pin": "1"}).status_code == 404


def test_owner_renames_reshares_pins_and_deletes_a_view(client, db, north):
    jane = partner_user(role="partner_admin", organization=north)
    client.login(jane)
    view_id = _save(client, "Won this quarter", "private")
    opened = client.get(f"/reports/views/{view_id}")
    assert "f1=stage" in opened.headers["Location"] and f"view={view_id}" in opened.headers["Location"]

    renamed = client.submit(f"/reports/views/{view_id}", {"edit-name": "Won, Q2", "edit-sharing": "organization",
                                                          "edit-pin": "y", "edit-query": "f1=stage&o1=is&v1=lost"})
    assert renamed.status_code == 303
    view = db.session.get(SavedView, view_id)
    assert (view.name, view.sharing, view.query) == ("Won, Q2", "organization", "f1=stage&o1=is&v1=lost")
    nav = client.get("/partner/").get_data(as_text=True)
    assert f'/reports/views/{view_id}"' in nav and "★ Won, Q2" in nav

    client.submit(f"/reports/views/{view_id}/pin", {"pin": "0"})
    assert "★ Won, Q2" not in client.get("/partner/").get_data(as_text=True)
    assert client.submit(f"/reports/views/{view_id}/delete").status_code == 303
    assert db.session.get(SavedView, view_id) is None


def test_the_referral_report_charts_count_exactly_the_filtered_rows(client, db, north):
    from decimal import Decimal
    from tests.factories import ReferralLinkFactory
    jane = partner_user(role="partner_admin", organization=north)
    link = ReferralLinkFactory(user=jane, campaign="Autumn fair", clicks=12)
    for stage in ("submitted", "accepted", "won_payment_pending", "rejected"):
        ReferralFactory(partner_org=north, stage=stage, status=stage, link=link, won_amount=Decimal(1))
    ReferralFactory(stage="won_payment_pending", status="won_payment_pending")  # another partner's
    client.login(jane)
    html = client.get("/reports/referrals").get_data(as_text=True)
    assert 'data-funnel="Submitted">4<' in html and 'data-funnel="Accepted">2<' in html
    assert 'data-funnel="Won">1<' in html and "Referrals per month by outcome" in html
    assert '<tr data-link="Autumn fair"><td>Autumn fair</td><td class="num">12</td><td class="num">4</td><td class="num">1</td>' in html
    narrowed = client.get("/reports/referrals?f1=stage&o1=is&v1=rejected").get_data(as_text=True)
    assert 'data-funnel="Submitted">1<' in narrowed and 'data-funnel="Won">0<' in narrowed
