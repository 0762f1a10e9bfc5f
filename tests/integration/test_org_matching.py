"""The organization matching wizard over real HTTP against the Salesforce sandbox: nothing is saved
without the confirmation, suggestions by name, website and email domains with their score and
reason, each decision recorded as the organization's CrmLink, a run left halfway resumes, paging
reads the Accounts fetched once, "Please select" searches Salesforce safely."""
from __future__ import annotations

import re

import pytest

from portal.extensions import db as _db
from portal.models import CrmLink, OrgMatchAccount, OrgMatchRow, OrgMatchRun
from portal.models.crm import LinkState
from tests.factories import OrganizationFactory, UserFactory, internal_user

HX = {"HX-Request": "true"}


def _accounts(sf_sandbox, *records):
    answer = sf_sandbox.api("POST", "/composite/sobjects", {"allOrNone": True, "records": [
        {"attributes": {"type": "Account"}, **r} for r in records]})
    return [r["id"] for r in answer]


@pytest.fixture
def scene(db, sf_sandbox, sf_connection):
    """Flagged Accounts that match one organization exactly, one fuzzily, and one that is not flagged."""
    acme_id, northwind_id, _globex, pure_id, _other, obrien_id = _accounts(
        sf_sandbox,
        {"Name": "ACME Corporation Ltd", "Website": "https://www.acme-corp.example", "Sync_with_Portal__c": True,
         "Portal_Partner_Status__c": "Active Partner"},
        {"Name": "Northwind Consulting", "Website": "northwind.example", "Sync_with_Portal__c": True,
         "Portal_Partner_Status__c": "Active Partner"},
        {"Name": "Globex", "Website": "globex.example"},  # not flagged: never offered
        {"Name": "100% Pure_Co", "Sync_with_Portal__c": True, "Portal_Partner_Status__c": "Active Distributor"},
        {"Name": "100X PureYCo", "Sync_with_Portal__c": True},
        {"Name": "O'Brien & Sons", "Website": "obrien.example", "Sync_with_Portal__c": True})
    sf_sandbox.api("POST", "/sobjects/Contact", {"LastName": "Reseller", "Email": "r@acme-mail.example",
                                                 "AccountId": acme_id})
    acme = OrganizationFactory(name="Acme Corp", domain="acme-corp.example")
    UserFactory(organization=acme, email="jo@acme-mail.example")
    northwind = OrganizationFactory(name="Northwind Consulting", domain="northwind.example")
    globex = OrganizationFactory(name="Globex", domain="globex.example")
    zeta = OrganizationFactory(name="Zeta Unmatched", domain="zeta.example", kind="distributor")
    admin = internal_user("admin")
    return {"connection": sf_connection, "admin": admin, "acme": acme, "northwind": northwind, "globex": globex,
            "zeta": zeta, "acme_id": acme_id, "northwind_id": northwind_id, "pure_id": pure_id,
            "obrien_id": obrien_id, "sandbox": sf_sandbox}


def _base(scene) -> str:
    return f"/internal/integrations/{scene['connection'].id}/org-matching"


def _walk_to_matching(client, scene, master="salesforce", *, sign_in=True):
    if sign_in:
        client.login(scene["admin"])
    assert client.submit(f"{_base(scene)}/confirm", {"confirmed": "y"}).status_code == 303
    response = client.submit(f"{_base(scene)}/master", {"master": master})
    assert response.status_code == 303 and response.headers["Location"].endswith("/org-matching/organizations")


def _decide(client, scene, org, decision, crm_id="", headers=None):
    return client.submit(f"{_base(scene)}/organizations/{org.id}", {"decision": decision, "crm_id": crm_id},
                         headers=headers or {})


def _row(org) -> OrgMatchRow:
    _db.session.expire_all()
    return _db.session.scalar(_db.select(OrgMatchRow).where(OrgMatchRow.organization_id == org.id)
                              .order_by(OrgMatchRow.id.desc()).limit(1))  # the latest run's


def _link(scene, org) -> CrmLink | None:
    _db.session.expire_all()
    return _db.session.scalar(_db.select(CrmLink).where(CrmLink.connection_id == scene["connection"].id,
                                                        CrmLink.entity_type == "organization",
                                                        CrmLink.entity_id == org.id))


def test_without_the_confirmation_nothing_is_saved(client, scene):
    client.login(scene["admin"])
    page = client.get(f"{_base(scene)}/confirm").get_data(as_text=True)
    assert "I have set the sync flag and status on the matching Accounts" in page
    response = client.submit(f"{_base(scene)}/confirm", {})
    assert response.status_code == 422
    assert "Confirm that the “Sync with Portal” flag" in response.get_data(as_text=True)
    # The later steps refuse to run before step 1: they send the admin back to it and write nothing.
    assert client.submit(f"{_base(scene)}/master", {"master": "portal"}).headers["Location"].endswith("/confirm")
    assert _decide(client, scene, scene["acme"], "create").headers["Location"].endswith("/confirm")
    assert client.submit(f"{_base(scene)}/review", {}).headers["Location"].endswith("/confirm")
    assert client.get(_base(scene)).headers["Location"].endswith("/confirm")
    for model in (OrgMatchRun, OrgMatchRow, OrgMatchAccount, CrmLink):
        assert _db.session.scalar(_db.select(_db.func.count()).select_from(model)) == 0


def test_suggestions_by_normalised_name_website_and_email_domains_show_reason_and_score(client, scene):
    _walk_to_matching(client, scene)
    html = client.get(f"{_base(scene)}/organizations").get_data(as_text=True)
    acme, northwind = _row(scene["acme"]), _row(scene["northwind"])
    assert (acme.suggested_crm_id, acme.score) == (scene["acme_id"], 100)  # 50 name + 40 website + 25 email
    assert "Same name once legal forms, punctuation and case are ignored (“acme”)" in acme.reason
    assert "same website domain (acme-corp.example)" in acme.reason
    assert "its users’ email domain acme-mail.example is the Account’s" in acme.reason
    assert (northwind.suggested_crm_id, northwind.score) == (scene["northwind_id"], 100)
    assert northwind.reason.startswith("Same name; same website domain")
    assert _row(scene["globex"]).suggested_crm_id is None   # its Account is not flagged
    assert _row(scene["zeta"]).suggested_crm_id is None
    assert "ACME Corporation Ltd" in html and "Score 100" in html and "Globex" in html
    assert html.count("No suggestion: no flagged Account shares its name") == 2
    assert "5 flagged Accounts read from Salesforce" in html


def test_each_decision_records_what_it_says_as_the_organizations_crm_link(client, scene):
    _walk_to_matching(client, scene)
    assert _decide(client, scene, scene["acme"], "link").status_code == 303
    link = _link(scene, scene["acme"])
    assert (link.crm_id, link.state, link.dirty) == (scene["acme_id"], LinkState.PENDING.value, True)

    response = _decide(client, scene, scene["globex"], "select", crm_id=scene["obrien_id"], headers=HX)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "match-counts"
    assert "Linked</span> to <strong>O&#39;Brien &amp; Sons</strong>" in response.get_data(as_text=True)
    assert _link(scene, scene["globex"]).crm_id == scene["obrien_id"]
    assert _row(scene["globex"]).decision == "select"

    _decide(client, scene, scene["northwind"], "create")
    link = _link(scene, scene["northwind"])
    assert (link.crm_id, link.state) == (None, LinkState.PENDING.value)

    _decide(client, scene, scene["zeta"], "skip")
    assert (_link(scene, scene["zeta"]).state, _link(scene, scene["zeta"]).crm_id) == (LinkState.UNLINKED.value, None)

    # A decision can change: the same link, now what the new decision says.
    _decide(client, scene, scene["northwind"], "link")
    assert _link(scene, scene["northwind"]).crm_id == scene["northwind_id"]
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(CrmLink)) == 4

    review = client.get(f"{_base(scene)}/review").get_data(as_text=True)
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', review))
    assert counts == {"link": "3", "create": "0", "skip": "1", "undecided": "0"}


def test_refused_decisions_change_nothing(client, scene):
    _walk_to_matching(client, scene)
    # Zeta has no suggestion to link; an Account id that was never offered; an Account already taken.
    assert "There is no suggestion to link" in _decide(client, scene, scene["zeta"], "link", headers=HX).get_data(as_text=True)
    response = _decide(client, scene, scene["zeta"], "select", crm_id="001000000000000AAA", headers=HX)
    assert response.status_code == 422 and "not one of the Accounts flagged for sync" in response.get_data(as_text=True)
    _decide(client, scene, scene["acme"], "link")
    response = _decide(client, scene, scene["globex"], "select", crm_id=scene["acme_id"], headers=HX)
    assert response.status_code == 422
    assert "The Account “ACME Corporation Ltd” is already linked to Acme Corp." in response.get_data(as_text=True)
    assert _link(scene, scene["zeta"]) is None and _link(scene, scene["globex"]) is None
    assert _row(scene["globex"]).decision is None
    other = OrganizationFactory(kind="vendor", name="Not a partner")
    assert _decide(client, scene, other, "create").status_code == 404


def test_please_select_searches_flagged_accounts_by_name_soql_safely(client, scene):
    _walk_to_matching(client, scene)
    url = f"{_base(scene)}/organizations/{scene['zeta'].id}/accounts"
    found = client.get(url, query_string={"q": "100% pure_"}, headers=HX).get_data(as_text=True)
    assert "100% Pure_Co" in found and "100X PureYCo" not in found   # % and _ match themselves
    found = client.get(url, query_string={"q": "o'brien"}, headers=HX).get_data(as_text=True)
    assert "O&#39;Brien &amp; Sons" in found
    assert "No flagged Account’s name contains “globex”" in client.get(
        url, query_string={"q": "globex"}, headers=HX).get_data(as_text=True)  # not flagged
    assert "No flagged Account" in client.get(url, query_string={"q": "x' OR Name != '"}, headers=HX).get_data(as_text=True)
    # An Account flagged after the list was read is found too, and can be chosen.
    [late_id] = _accounts(scene["sandbox"], {"Name": "Zeta Holdings", "Sync_with_Portal__c": True})
    found = client.get(url, query_string={"q": "zeta"}, headers=HX).get_data(as_text=True)
    assert f'value="{late_id}"' in found
    assert _decide(client, scene, scene["zeta"], "select", crm_id=late_id).status_code == 303
    # Without JavaScript the same search runs in the page, for that row.
    page = client.get(f"{_base(scene)}/organizations", query_string={"select": scene["zeta"].id, "q": "pure"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "100% Pure_Co" in html and "100X PureYCo" in html
    assert _decide(client, scene, scene["zeta"], "select", crm_id=scene["pure_id"]).status_code == 303
    assert _link(scene, scene["zeta"]).crm_id == scene["pure_id"]


def test_a_wizard_left_halfway_resumes_where_it_stopped_from_the_accounts_fetched_once(client, scene):
    _walk_to_matching(client, scene, master="portal")
    _decide(client, scene, scene["acme"], "link")
    _decide(client, scene, scene["zeta"], "skip")
    # Someone flags one more Account meanwhile: paging does not ask Salesforce again...
    _accounts(scene["sandbox"], {"Name": "Globex Inc.", "Website": "globex.example", "Sync_with_Portal__c": True})

    client.submit("/logout")
    client.login(scene["admin"])
    resumed = client.get(_base(scene))
    assert resumed.status_code == 302 and resumed.headers["Location"].endswith("/org-matching/organizations")
    assert client.submit(f"{_base(scene)}/confirm", {"confirmed": "y"}).headers["Location"].endswith("/master")
    html = client.get(f"{_base(scene)}/organizations", query_string={"show": "undecided"}).get_data(as_text=True)
    assert "Northwind Consulting" in html and "Globex" in html and "Acme Corp" not in html
    assert _row(scene["acme"]).decision == "link" and _row(scene["zeta"]).decision == "skip"
    assert _row(scene["globex"]).suggested_crm_id is None
    assert _db.session.scalar(_db.select(OrgMatchRun.master)) == "portal"
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(OrgMatchRun)) == 1

    # ...until the admin reads the Accounts again; decisions stand, the undecided get the new suggestion.
    assert client.submit(f"{_base(scene)}/refresh").status_code == 303
    globex = _row(scene["globex"])
    assert globex.suggested_crm_id is not None and globex.score == 90 and globex.decision is None
    assert _row(scene["acme"]).decision == "link" and _link(scene, scene["acme"]).crm_id == scene["acme_id"]


def test_the_list_pages_through_every_partner_and_distributor(client, scene):
    for n in range(25):
        OrganizationFactory(name=f"Reseller {n:02d}")
    _walk_to_matching(client, scene)
    first = client.get(f"{_base(scene)}/organizations").get_data(as_text=True)
    second = client.get(f"{_base(scene)}/organizations", query_string={"page": 2}, headers=HX).get_data(as_text=True)
    assert "Page 1 of 2 · 29 in all" in first and first.count('<li class="match-row') == 20
    assert second.count('<li class="match-row') == 9 and "<html" not in second
    assert "Zeta Unmatched" in second and "Acme Corp" in first


def test_saving_account_mappings_the_first_time_leads_to_the_wizard(client, scene):
    client.login(scene["admin"])
    connection = scene["connection"]
    url = f"/internal/integrations/{connection.id}/mappings"
    from portal.services import crm
    rows = [(f"{m.crm_object}.{m.crm_field}", m.portal_field, m.direction, m.default_value)
            for m in crm.mappings_of(connection)]
    data = {}
    assert ("account.Name", "name") in {r[:2] for r in rows}  # the connector's default account mappings
    for i, row in enumerate(rows):
        data.update({f"rows-{i}-crm_property": row[0], f"rows-{i}-portal_field": row[1] or "",
                     f"rows-{i}-direction": row[2], f"rows-{i}-default_value": row[3] or ""})
    first = client.submit(url, data)
    assert first.status_code == 303, re.findall(r"(?:field__error|alert--error)[^>]*>(.*?)</", first.get_data(as_text=True))
    assert first.headers["Location"].endswith(f"/{connection.id}/org-matching")
    assert client.submit(url, data).headers["Location"].endswith("/mappings")
    page = client.get(f"/internal/integrations/{connection.id}").get_data(as_text=True)
    assert f'href="/internal/integrations/{connection.id}/org-matching"' in page


def test_the_wizard_is_for_admins_and_for_crms_with_accounts(client, scene, connection):
    client.login(internal_user("manager"))
    assert client.get(f"{_base(scene)}/confirm").status_code == 403
    client.submit("/logout")
    client.login(scene["admin"])
    assert client.get(f"/internal/integrations/{connection.id}/org-matching/confirm").status_code == 404  # HubSpot


def test_do_not_sync_keeps_the_suggested_account_aside_until_another_organization_takes_it(client, scene):
    _walk_to_matching(client, scene)
    _decide(client, scene, scene["northwind"], "skip")
    link = _link(scene, scene["northwind"])
    assert (link.state, link.crm_id) == (LinkState.UNLINKED.value, scene["northwind_id"])  # the pull leaves it alone
    assert _decide(client, scene, scene["globex"], "select", crm_id=scene["northwind_id"]).status_code == 303
    assert _link(scene, scene["globex"]).crm_id == scene["northwind_id"]
    link = _link(scene, scene["northwind"])
    assert (link.state, link.crm_id) == (LinkState.UNLINKED.value, None)


def test_starting_the_initial_sync_follows_the_decisions_and_a_second_run_creates_no_account(
        client, scene, run_jobs):
    sandbox = scene["sandbox"]
    _walk_to_matching(client, scene, master="portal")
    _decide(client, scene, scene["acme"], "link")
    _decide(client, scene, scene["northwind"], "create")
    _decide(client, scene, scene["zeta"], "skip")
    before = len(sandbox.query("SELECT Id FROM Account"))
    response = client.submit(f"{_base(scene)}/review")
    assert response.status_code == 303 and response.headers["Location"].endswith("/org-matching/sync")
    options = _db.session.get(type(scene["connection"]), scene["connection"].id).options
    assert options["org_sync"]["enabled"] is True and options["org_sync"]["master"] == "portal"
    polling = client.get(f"{_base(scene)}/sync", headers=HX).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in polling and "<html" not in polling

    run_jobs()
    done = client.get(f"{_base(scene)}/sync", headers=HX).get_data(as_text=True)
    assert "The initial sync finished" in done and 'hx-trigger="every 1s"' not in done
    accounts = {r["Id"]: r for r in sandbox.query("SELECT Id, Name, Portal_Org_Id__c FROM Account")}
    assert accounts[scene["acme_id"]]["Portal_Org_Id__c"] == str(scene["acme"].id)      # linked, not created
    created = [r for r in accounts.values() if r["Portal_Org_Id__c"] == str(scene["northwind"].id)]
    assert len(created) == 1 and created[0]["Id"] != scene["northwind_id"]               # a new Account
    assert not any(r["Portal_Org_Id__c"] == str(scene["zeta"].id) for r in accounts.values())
    # Globex was undecided: the initial sync creates its Account too.
    assert len(accounts) == before + 2
    assert client.submit(f"{_base(scene)}/organizations/{scene['zeta'].id}", {"decision": "link"}).headers[
        "Location"].endswith("/confirm")   # the finished run takes no more decisions

    # Match again: the decisions come back as they were, and a second initial sync creates nothing.
    _walk_to_matching(client, scene, master="salesforce", sign_in=False)
    assert _row(scene["zeta"]).decision == "skip" and _row(scene["acme"]).decision == "link"
    assert client.submit(f"{_base(scene)}/review").status_code == 303
    run_jobs()
    assert len(sandbox.query("SELECT Id FROM Account")) == before + 2


def test_the_sync_page_lists_the_initial_syncs_errors(client, scene, run_jobs):
    scene["sandbox"].admin("org", {"missing": ["Account.Portal_Partner_Status__c=Active Distributor"]})
    _walk_to_matching(client, scene)
    for org in ("acme", "northwind", "globex"):
        _decide(client, scene, scene[org], "skip")
    _decide(client, scene, scene["zeta"], "create")   # a distributor: its status value is missing in the org
    client.submit(f"{_base(scene)}/review")
    run_jobs()
    html = client.get(f"{_base(scene)}/sync").get_data(as_text=True)
    errors = html.split("Errors (", 1)[1]
    assert 'class="badge badge--error"' in errors
    assert "Zeta Unmatched: Salesforce rejected the Account" in errors and "Active Distributor" in errors
