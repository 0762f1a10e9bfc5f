"""Organization sync with Salesforce over real HTTP against the sandbox (issue #14): organizations
as Accounts and their users as Contacts, both ways; the flag, the partner status and the kinds that
sync; record types; conflicts resolved by the master; the initial sync the matching wizard starts."""
from __future__ import annotations

import pytest

from portal.errors import DomainError
from portal.extensions import db as _db
from portal.models import CrmConnection, CrmLink, Organization, PartnerApplication, SyncLog, User
from portal.models.crm import LinkState
from portal.services import accounts, organizations
from portal.services.crm import org_sync
from portal.sync import engine
from tests.factories import OrganizationFactory, UserFactory, internal_user
from tests.integration.test_partner_applications import apply as apply_for_partnership
from tests.integration.test_partner_applications import instant  # noqa: F401 - a fixture


def _enable(connection, **settings) -> CrmConnection:
    connection = _db.session.get(CrmConnection, connection.id)
    connection.options = {**(connection.options or {}), "org_sync": {"enabled": True, **settings}}
    _db.session.commit()
    return connection


def _accounts(sf_sandbox, where: str = "") -> list[dict]:
    return sf_sandbox.query("SELECT Id, Name, Website, RecordTypeId, Portal_Org_Id__c, Portal_Partner_Status__c, "
                            f"Sync_with_Portal__c FROM Account {where} ORDER BY Name")


def _contacts(sf_sandbox, where: str = "") -> list[dict]:
    return sf_sandbox.query("SELECT Id, LastName, FirstName, Email, AccountId, RecordTypeId, Portal_User_Id__c, "
                            f"Portal_Active__c FROM Contact {where} ORDER BY Email")


def _record_type(sf_sandbox, sobject: str, developer_name: str) -> str:
    [found] = sf_sandbox.query(f"SELECT Id FROM RecordType WHERE SobjectType = '{sobject}' "
                               f"AND DeveloperName = '{developer_name}'")
    return found["Id"]


def _flagged_account(sf_sandbox, name: str, status: str = "Active Partner", **fields) -> str:
    return sf_sandbox.api("POST", "/sobjects/Account", {"Name": name, "Sync_with_Portal__c": True,
                                                        "Portal_Partner_Status__c": status, **fields})["id"]


def test_nothing_syncs_until_the_wizard_turns_organization_sync_on(db, sf_sandbox, sf_connection):
    organizations.create(kind="partner", name="Northwind Traders", domain="northwind.example")
    engine.push(sf_connection.id)
    assert _accounts(sf_sandbox) == []
    assert _db.session.scalar(_db.select(CrmLink).where(CrmLink.entity_type == "organization")) is None


def test_created_in_the_portal_becomes_an_account_with_its_record_type_status_and_contacts(db, sf_sandbox,
                                                                                          sf_connection):
    partner_type = _record_type(sf_sandbox, "Account", "Partner")
    contact_type = _record_type(sf_sandbox, "Contact", "Partner_Contact")
    _enable(sf_connection, record_types=True,
            record_type_ids={"account_partner": partner_type, "contact_partner": contact_type})
    org = organizations.create(kind="partner", name="Northwind Traders", domain="northwind.example", country="DE")
    admin = internal_user()
    accounts.invite(by=admin, organization=org, email="Paula@Northwind.example", name="Paula Prentiss",
                    role="partner_admin")
    engine.push(sf_connection.id)

    [account] = _accounts(sf_sandbox)
    assert account["Name"] == "Northwind Traders" and account["Portal_Org_Id__c"] == str(org.id)
    assert account["Portal_Partner_Status__c"] == "Active Partner" and account["Sync_with_Portal__c"] is True
    assert account["RecordTypeId"] == partner_type and account["Website"] == "northwind.example"
    [contact] = _contacts(sf_sandbox)
    assert (contact["FirstName"], contact["LastName"], contact["Email"]) == ("Paula", "Prentiss",
                                                                             "paula@northwind.example")
    assert contact["AccountId"] == account["Id"] and contact["RecordTypeId"] == contact_type
    assert contact["Portal_Active__c"] is True
    # A second push (nothing changed) and a full sync make no second record.
    engine.full_sync(sf_connection.id)
    assert len(_accounts(sf_sandbox)) == 1 and len(_contacts(sf_sandbox)) == 1


def test_flagged_account_becomes_an_organization_and_its_contacts_users_without_a_password(db, sf_sandbox,
                                                                                          sf_connection):
    _enable(sf_connection)
    flagged = _flagged_account(sf_sandbox, "Contoso Distribution", "Active Distributor",
                               Website="https://www.contoso.example/", BillingCountry="NL")
    sf_sandbox.api("POST", "/sobjects/Contact", {"LastName": "Vries", "FirstName": "Dirk",
                                                 "Email": "dirk@contoso.example", "AccountId": flagged})
    unflagged = sf_sandbox.api("POST", "/sobjects/Account", {"Name": "Just A Customer"})["id"]
    sf_sandbox.api("POST", "/sobjects/Contact", {"LastName": "Nobody", "Email": "nobody@customer.example",
                                                 "AccountId": unflagged})
    engine.pull(sf_connection.id)

    [org] = _db.session.scalars(_db.select(Organization).where(Organization.kind != "vendor")).all()
    assert (org.name, org.kind, org.status, org.domain, org.country) == (
        "Contoso Distribution", "distributor", "active", "contoso.example", "NL")
    [user] = org.users
    assert (user.email, user.name, user.role, user.password_hash) == ("dirk@contoso.example", "Dirk Vries",
                                                                      "partner_user", None)
    assert accounts.find_by_email("nobody@customer.example") is None
    # The Account learns the portal's id on the next push; the pull of that write changes nothing.
    engine.push(sf_connection.id)
    [account] = _accounts(sf_sandbox, f"WHERE Id = '{flagged}'")
    assert account["Portal_Org_Id__c"] == str(org.id)
    [contact] = _contacts(sf_sandbox, "WHERE Email = 'dirk@contoso.example'")
    assert contact["Portal_User_Id__c"] == str(user.id)
    engine.pull(sf_connection.id)
    assert _db.session.scalar(_db.select(_db.func.count(Organization.id))) == 1


def _pushed_org(sf_sandbox, sf_connection, **settings):
    connection = _enable(sf_connection, **settings)
    org = organizations.create(kind="partner", name="Northwind Traders", domain="northwind.example")
    engine.push(connection.id)
    [account] = _accounts(sf_sandbox)
    engine.pull(connection.id)  # the portal's own write, read back: no change
    return connection, org, account["Id"]


def _conflict(sf_sandbox, connection, org, account_id, master: str) -> Organization:
    connection.options = {**connection.options, "org_master": master}
    _db.session.commit()
    organizations.update(org, kind="partner", name="Northwind (portal)", tier=org.tier, domain=org.domain,
                         country=org.country)
    sf_sandbox.api("PATCH", f"/sobjects/Account/{account_id}", {"Name": "Northwind (Salesforce)"})
    engine.pull(connection.id)
    engine.push(connection.id)
    _db.session.expire_all()
    return _db.session.get(Organization, org.id)


@pytest.mark.parametrize("master, winner, words", [
    ("salesforce", "Northwind (Salesforce)", "Salesforce's value wins (master: Salesforce)"),
    ("portal", "Northwind (portal)", "The portal's value wins (master: the portal)")])
def test_a_field_changed_on_both_sides_goes_the_masters_way_and_the_log_says_so(db, sf_sandbox, sf_connection,
                                                                                master, winner, words):
    connection, org, account_id = _pushed_org(sf_sandbox, sf_connection)
    org = _conflict(sf_sandbox, connection, org, account_id, master)
    assert org.name == winner and _accounts(sf_sandbox)[0]["Name"] == winner
    [log] = _db.session.scalars(_db.select(SyncLog).where(SyncLog.action == "conflict")).all()
    assert "Organization name changed in both since the last sync" in log.message
    assert "'Northwind (portal)'" in log.message and "'Northwind (Salesforce)'" in log.message
    assert words in log.message


def test_deactivating_either_side_the_other_follows(db, sf_sandbox, sf_connection):
    connection, org, account_id = _pushed_org(sf_sandbox, sf_connection)
    user = UserFactory(organization=org, email="paula@northwind.example", name="Paula Prentiss")
    accounts.update_profile(user, name="Paula Prentiss", notification_preferences={})
    engine.push(connection.id)
    organizations.set_status(org, "inactive")
    accounts.set_active(user, False, by=internal_user())
    engine.push(connection.id)
    assert _accounts(sf_sandbox)[0]["Portal_Partner_Status__c"] == "Inactive Partner"
    [contact] = _contacts(sf_sandbox)
    assert contact["Portal_Active__c"] is False
    engine.pull(connection.id)

    sf_sandbox.api("PATCH", f"/sobjects/Account/{account_id}", {"Portal_Partner_Status__c": "Active Partner"})
    sf_sandbox.api("PATCH", f"/sobjects/Contact/{contact['Id']}", {"Portal_Active__c": True})
    engine.pull(connection.id)
    _db.session.expire_all()
    assert _db.session.get(Organization, org.id).status == "active"
    assert _db.session.get(User, user.id).active is True
    sf_sandbox.api("PATCH", f"/sobjects/Account/{account_id}", {"Portal_Partner_Status__c": "Inactive Distributor"})
    engine.pull(connection.id)
    _db.session.expire_all()
    org = _db.session.get(Organization, org.id)
    assert (org.kind, org.status) == ("distributor", "inactive")


def _link_of(entity_type: str, entity_id: int) -> CrmLink:
    _db.session.expire_all()
    return _db.session.scalar(_db.select(CrmLink).where(CrmLink.entity_type == entity_type,
                                                       CrmLink.entity_id == entity_id))


def test_an_account_or_contact_deleted_in_salesforce_unlinks_its_organization_or_user_and_says_so(
        db, sf_sandbox, sf_connection):
    connection, org, account_id = _pushed_org(sf_sandbox, sf_connection)
    paula = UserFactory(organization=org, email="paula@northwind.example", name="Paula Prentiss")
    kept = UserFactory(organization=org, email="kim@northwind.example", name="Kim Keeper")
    for user in (paula, kept):
        accounts.update_profile(user, name=user.name, notification_preferences={})
    engine.push(connection.id)
    contacts = {c["Email"]: c["Id"] for c in _contacts(sf_sandbox)}
    engine.pull(connection.id)

    sf_sandbox.api("DELETE", f"/sobjects/Contact/{contacts['paula@northwind.example']}")
    assert engine.pull(connection.id).errors == 0
    link = _link_of("user", paula.id)
    assert link.state == LinkState.UNLINKED.value and link.crm_id is None
    assert link.last_error == (f"Salesforce Contact {contacts['paula@northwind.example']} was deleted in Salesforce: "
                               "paula@northwind.example is no longer linked to it and later syncs leave it alone.")
    assert _link_of("user", kept.id).crm_id == contacts["kim@northwind.example"]
    assert _db.session.get(User, paula.id).active is True  # the person keeps their account

    sf_sandbox.api("DELETE", f"/sobjects/Account/{account_id}")
    engine.pull(connection.id)
    link = _link_of("organization", org.id)
    assert link.state == LinkState.UNLINKED.value and link.crm_id is None
    assert link.last_error.startswith(f"Salesforce Account {account_id} was deleted in Salesforce: Northwind Traders")
    [log] = _db.session.scalars(_db.select(SyncLog).where(SyncLog.action == "delete",
                                                          SyncLog.entity_type == "organization"))
    assert log.entity_id == org.id and log.direction == "pull"
    # The portal's later changes go nowhere: no Account is made again behind the admins' back.
    organizations.update(org, kind="partner", name="Northwind (renamed)", tier=org.tier, domain=org.domain,
                         country=org.country)
    accounts.update_profile(paula, name="Paula P. Prentiss", notification_preferences={})
    assert engine.push(connection.id).errors == 0
    assert _accounts(sf_sandbox) == []
    assert "paula@northwind.example" not in [c["Email"] for c in _contacts(sf_sandbox)]


def test_inactive_kinds_not_selected_are_not_synced(db, sf_sandbox, sf_connection):
    _enable(sf_connection, kinds=["active_partner", "active_distributor"])
    inactive = OrganizationFactory(name="Sleepy Partner", inactive=True)
    organizations.update(inactive, kind="partner", name="Sleepy Partner", tier=None, domain=None, country=None)
    organizations.create(kind="distributor", name="Busy Distributor")
    _flagged_account(sf_sandbox, "Dormant Reseller", "Inactive Partner")
    _flagged_account(sf_sandbox, "Lively Reseller", "Active Partner")
    engine.full_sync(sf_connection.id)
    assert [a["Name"] for a in _accounts(sf_sandbox)] == ["Busy Distributor", "Dormant Reseller", "Lively Reseller"]
    names = set(_db.session.scalars(_db.select(Organization.name).where(Organization.kind != "vendor")))
    assert names == {"Sleepy Partner", "Busy Distributor", "Lively Reseller"}


def test_initial_sync_follows_the_wizards_decisions_and_a_second_run_creates_no_account(db, sf_sandbox,
                                                                                       sf_connection, run_jobs):
    connection = _enable(sf_connection)
    linked = OrganizationFactory(name="Northwind Traders")
    new = OrganizationFactory(name="Fabrikam")
    skipped = OrganizationFactory(name="Do Not Sync Me")
    UserFactory(organization=new, email="fay@fabrikam.example", name="Fay Fabrikam")
    existing = _flagged_account(sf_sandbox, "Northwind Traders Inc.", "Active Partner")
    sf_sandbox.api("POST", "/sobjects/Contact", {"LastName": "Nash", "Email": "nash@northwind.example",
                                                 "AccountId": existing})
    known = UserFactory(organization=linked, email="lee@northwind.example", name="L. Lin")
    sf_sandbox.api("POST", "/sobjects/Contact", {"FirstName": "Lee", "LastName": "Lin",
                                                 "Email": "lee@northwind.example", "AccountId": existing})
    only_in_salesforce = _flagged_account(sf_sandbox, "Tailspin Toys", "Active Partner")
    for org, crm_id, state in ((linked, existing, LinkState.PENDING.value), (new, None, LinkState.PENDING.value),
                               (skipped, None, LinkState.UNLINKED.value)):
        _db.session.add(CrmLink(connection_id=connection.id, entity_type="organization", entity_id=org.id,
                                crm_object="account", crm_id=crm_id, state=state, dirty=state != "unlinked",
                                version=1, pushed_values={}, remote_values={}))
    _db.session.commit()

    org_sync.start_initial_sync(connection.id, "salesforce")
    run_jobs()
    _db.session.expire_all()
    connection = _db.session.get(CrmConnection, connection.id)
    assert connection.full_sync_finished_at is not None and connection.full_sync_done == connection.full_sync_total
    assert _db.session.get(Organization, linked.id).name == "Northwind Traders Inc."  # Salesforce is the master
    names = {a["Name"]: a for a in _accounts(sf_sandbox)}
    assert set(names) == {"Northwind Traders Inc.", "Fabrikam", "Tailspin Toys"}
    assert names["Northwind Traders Inc."]["Portal_Org_Id__c"] == str(linked.id)
    tailspin = _db.session.scalar(_db.select(Organization).where(Organization.name == "Tailspin Toys"))
    assert names["Tailspin Toys"]["Id"] == only_in_salesforce and tailspin is not None
    assert accounts.find_by_email("nash@northwind.example").organization_id == linked.id
    assert _db.session.get(User, known.id).name == "Lee Lin"  # the Contact it was linked to, by email
    emails = [c["Email"] for c in _contacts(sf_sandbox)]
    assert emails == ["fay@fabrikam.example", "lee@northwind.example", "nash@northwind.example"]

    org_sync.start_initial_sync(connection.id, "portal")
    run_jobs()
    assert len(_accounts(sf_sandbox)) == 3 and len(_contacts(sf_sandbox)) == 3
    errors = _db.session.scalars(_db.select(SyncLog).where(SyncLog.status == "error")).all()
    assert errors == []


def test_start_initial_sync_refuses_a_connection_without_organization_sync(db, sf_connection):
    with pytest.raises(DomainError, match="Turn organization sync on"):
        org_sync.start_initial_sync(sf_connection.id, "portal")
    _enable(sf_connection)
    with pytest.raises(DomainError, match="master"):
        org_sync.start_initial_sync(sf_connection.id, "hubspot")


def test_a_partner_approved_through_sign_up_appears_as_an_account(client, db, instant, sf_sandbox, sf_connection):
    _enable(sf_connection)
    assert apply_for_partnership(client).status_code == 303
    [application] = _db.session.scalars(_db.select(PartnerApplication))
    client.login(internal_user("manager"))
    assert client.submit(f"/internal/applications/{application.id}/approve").status_code == 303
    engine.push(sf_connection.id)
    org = _db.session.scalar(_db.select(Organization).where(Organization.name == "Contoso Consulting"))
    [account] = _accounts(sf_sandbox)
    assert account["Name"] == "Contoso Consulting" and account["Portal_Org_Id__c"] == str(org.id)
    assert account["Portal_Partner_Status__c"] == "Active Partner"
    [contact] = _contacts(sf_sandbox)
    assert contact["Email"] == "carla@contoso.example" and contact["AccountId"] == account["Id"]


def test_the_mappings_page_maps_account_and_contact_fields_and_checks_picklist_values(client, db, sf_sandbox,
                                                                                     sf_connection):
    from tests.integration.test_integrations_pages import _current_rows, _mappings_post
    client.login(internal_user("admin"))
    url = f"/internal/integrations/{sf_connection.id}/mappings"
    html = client.get(url).get_data(as_text=True)
    assert 'label="Account (organization)"' in html and 'label="Contact (partner user)"' in html
    assert 'value="account.Portal_Partner_Status__c"' in html and 'value="Inactive Distributor"' in html
    rows = _current_rows(sf_connection)
    assert client.submit(url, _mappings_post(sf_connection, rows)).status_code == 303  # the defaults round-trip

    status = next(i for i, r in enumerate(rows) if r[0] == "account.Portal_Partner_Status__c")
    rows[status] = ("account.Portal_Partner_Status__c", "partner_status", "both", None,
                    {"active_partner": "Active Partner", "inactive_partner": "Dormant Partner"})
    response = client.submit(url, _mappings_post(sf_connection, rows))
    assert response.status_code == 422
    assert "Portal_Partner_Status__c has no picklist value &#39;Dormant Partner&#39;" in response.get_data(as_text=True)
    rows[status] = ("account.Portal_Partner_Status__c", "partner_status", "both", None,
                    {"active_partner": "Active Partner", "inactive_partner": "Active Partner"})
    response = client.submit(url, _mappings_post(sf_connection, rows))
    assert response.status_code == 422 and "two portal values map to the same value" in response.get_data(as_text=True)


def test_the_connection_page_sets_kinds_master_and_record_types_from_the_orgs_describe(client, db, sf_sandbox,
                                                                                      sf_connection):
    client.login(internal_user("admin"))
    page = client.get(f"/internal/integrations/{sf_connection.id}").get_data(as_text=True)
    assert "Organization sync" in page and "Nothing syncs until the matching wizard has run" in page
    partner_type = _record_type(sf_sandbox, "Account", "Partner")
    assert f'value="{partner_type}"' in page and ">Partner<" in page  # the org's record types, as options
    url = f"/internal/integrations/{sf_connection.id}/org-sync"
    response = client.submit(url, {"kinds": ["active_partner", "active_distributor"], "master": "portal",
                                   "record_types": "y", "account_partner": partner_type})
    assert response.status_code == 303
    assert org_sync.settings_of(_db.session.get(CrmConnection, sf_connection.id)) == {
        "enabled": False, "kinds": ["active_partner", "active_distributor"], "record_types": True,
        "record_type_ids": {"account_partner": partner_type}, "master": "portal"}
    contact_type = _record_type(sf_sandbox, "Contact", "Partner_Contact")
    client.submit(url, {"kinds": ["active_partner"], "master": "salesforce", "record_types": "y",
                        "account_partner": contact_type})
    page = client.get(f"/internal/integrations/{sf_connection.id}").get_data(as_text=True)
    assert "Accounts created for partners: that record type is not one of the org&#39;s Account record types" in page
    assert org_sync.settings_of(_db.session.get(CrmConnection, sf_connection.id))["master"] == "portal"


def test_test_connection_lists_the_fields_and_picklist_values_organization_sync_lacks(db, sf_sandbox, sf_connection):
    from portal.services import crm
    sf_sandbox.admin("org", {"missing": ["Contact.Portal_User_Id__c",
                                         "Account.Portal_Partner_Status__c=Inactive Distributor"]})
    result = crm.test_connection(sf_connection)
    assert result.ok
    needs = result.message.split("Organization sync needs: ", 1)[1]
    assert "Contact.Portal_User_Id__c — add it in Setup → Object Manager → Contact" in needs
    assert "Account.Portal_Partner_Status__c value “Inactive Distributor”" in needs
    assert "Active Distributor”" not in result.message


def test_a_crm_without_organization_sync_has_no_such_settings(client, db, connection):
    client.login(internal_user("admin"))
    assert "Organization sync" not in client.get(f"/internal/integrations/{connection.id}").get_data(as_text=True)
    response = client.submit(f"/internal/integrations/{connection.id}/org-sync", {"master": "portal"})
    assert response.status_code == 404


def test_an_initial_sync_whose_job_was_lost_is_run_again_by_the_sweep_not_a_full_sync(db, sf_sandbox, sf_connection,
                                                                                      redis_conn, run_jobs):
    from portal.services import crm
    connection = _enable(sf_connection)
    org = OrganizationFactory(name="Northwind Traders")
    account = _flagged_account(sf_sandbox, "Northwind Traders AG", "Active Partner")
    _db.session.add(CrmLink(connection_id=connection.id, entity_type="organization", entity_id=org.id,
                            crm_object="account", crm_id=account, state="pending", dirty=True, version=1,
                            pushed_values={}, remote_values={}))
    # The watermark is past the Account (the minutely pull ran): a full sync would not read it again.
    connection.pull_watermark_ms = 4_102_444_800_000
    _db.session.commit()
    org_sync.start_initial_sync(connection.id, "salesforce")
    redis_conn.flushdb()  # the job is lost with its Redis
    crm.redrive()
    run_jobs()
    _db.session.expire_all()
    assert _db.session.get(Organization, org.id).name == "Northwind Traders AG"  # read in first: Salesforce is master
    assert _accounts(sf_sandbox)[0]["Name"] == "Northwind Traders AG"
    connection = _db.session.get(CrmConnection, connection.id)
    assert connection.full_sync_finished_at is not None and "initial_sync_pending" not in connection.options


@pytest.mark.parametrize("master", ["salesforce", "portal"])
def test_a_website_written_as_a_url_in_salesforce_is_the_same_domain_not_a_conflict(db, sf_sandbox, sf_connection,
                                                                                    run_jobs, master):
    connection = _enable(sf_connection)
    org = OrganizationFactory(name="Northwind Traders", domain="northwind.example")
    existing = _flagged_account(sf_sandbox, "Northwind Traders", Website="https://www.northwind.example/")
    _db.session.add(CrmLink(connection_id=connection.id, entity_type="organization", entity_id=org.id,
                            crm_object="account", crm_id=existing, state=LinkState.PENDING.value, dirty=True,
                            version=1, pushed_values={}, remote_values={}))
    _db.session.commit()

    org_sync.start_initial_sync(connection.id, master)
    run_jobs()
    _db.session.expire_all()
    assert _db.session.get(Organization, org.id).domain == "northwind.example"
    conflicts = _db.session.scalars(_db.select(SyncLog.message).where(SyncLog.action == "conflict")).all()
    assert conflicts == []
