"""Authorization in one place: a page offers a control exactly when the view behind it lets the user in."""
from __future__ import annotations

import pytest

from portal.web import guards

from tests.factories import OrganizationFactory, internal_user, partner_user

# (permission, page showing the control, the control's link, the view it leads to)
CONTROLS = [
    ("manage_orgs", "/internal/organizations", 'href="/internal/organizations/new"', "/internal/organizations/new"),
    ("manage_commissions", "/internal/", 'href="/internal/commissions"', "/internal/commissions"),
    ("manage_settings", "/internal/", 'href="/internal/settings"', "/internal/settings"),
    ("manage_users", "/internal/users", 'href="/internal/users/invite"', "/internal/users/invite"),
    ("manage_integrations", "/internal/", 'href="/internal/integrations/"', "/internal/integrations/"),
    ("manage_team", "/partner/", 'href="/partner/team"', "/partner/team"),
]


@pytest.mark.parametrize("role", ["admin", "manager", "sales", "partner_admin", "partner_user"])
def test_every_control_is_shown_exactly_when_its_view_lets_the_user_in(client, db, role):
    user = internal_user(role) if role in ("admin", "manager", "sales") else partner_user(role)
    client.login(user)
    for permission, page, control, target in CONTROLS:
        audience = "/partner/" if permission == "manage_team" else "/internal/"
        if (audience == "/partner/") != user.is_partner:
            continue  # the other audience's pages are 404 for this user altogether
        shown = control in client.get(page).get_data(as_text=True)
        allowed = client.get(target).status_code == 200
        assert shown == allowed == guards.can(permission, user), (role, permission)


def test_the_organization_page_offers_edits_to_those_who_may_make_them(client, db):
    org = OrganizationFactory(name="Northwind")
    for role, may_edit in (("manager", True), ("sales", False)):
        client.login(internal_user(role))
        page = client.get(f"/internal/organizations/{org.id}").get_data(as_text=True)
        assert (f'href="/internal/organizations/{org.id}/edit"' in page) is may_edit
        assert (client.get(f"/internal/organizations/{org.id}/edit").status_code == 200) is may_edit
        client.submit("/logout")


def test_a_misspelt_permission_fails_loudly():
    with pytest.raises(KeyError):
        guards.can("manage_everything", user=None)
    with pytest.raises(KeyError):
        guards.requires("manage_everything")
