"""The integrations pages: connection settings, test, mappings and rules, the log, the referral's CRM panel."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from portal.models import CrmConnection, CrmLink, SyncLog
from portal.services import crm, referrals
from tests.conftest import routes_of
from tests.factories import OrganizationFactory, ReferralFactory, internal_user, partner_user
from tests.crm_fixtures import HUBSPOT_TOKEN, WEBHOOK_SECRET

HX = {"HX-Request": "true"}


@pytest.mark.parametrize("role", ["partner_admin", "partner_user"])
def test_partner_gets_404_on_every_integrations_route(app, client, db, role):
    OrganizationFactory()
    partner = partner_user(role=role)
    referral = ReferralFactory(partner_org=partner.organization)  # even their own referral's CRM routes
    client.login(partner)
    urls = routes_of(app, "integrations")
    assert len(urls) >= 12
    for method, path in urls + [("GET", f"/internal/integrations/referrals/{referral.id}"),
                                ("POST", f"/internal/integrations/referrals/{referral.id}/sync")]:
        response = client.open(path, method=method, data={"csrf_token": client.csrf_token()})
        assert response.status_code == 404, f"{method} {path} answered {response.status_code}"


def test_only_admins_manage_connections_but_every_internal_user_reads_the_log(client, db):
    client.login(internal_user("sales"))
    assert client.get("/internal/integrations/").status_code == 403
    assert client.get("/internal/integrations/new").status_code == 403
    assert client.get("/internal/integrations/log").status_code == 200
    assert "Integrations" not in client.get("/internal/referrals").get_data(as_text=True).split("</nav>")[0]


def test_the_token_is_never_shown_again_once_saved(client, db, sandbox):
    client.login(internal_user("admin"))
    page = client.get("/internal/integrations/new").get_data(as_text=True)
    assert 'type="password"' in page and "Salesforce" in page
    response = client.submit("/internal/integrations/new", {
        "name": "HubSpot demo", "provider": "hubspot", "base_url": sandbox.base, "token": HUBSPOT_TOKEN,
        "webhook_secret": WEBHOOK_SECRET, "sync_trigger": "manual", "existing_policy": "update", "active": "y"})
    assert response.status_code == 303
    connection = db.session.scalar(db.select(CrmConnection))
    assert (connection.sync_trigger, connection.existing_policy) == ("manual", "update")
    assert HUBSPOT_TOKEN not in connection.token_encrypted and WEBHOOK_SECRET not in connection.webhook_secret_encrypted
    assert crm.token(connection) == HUBSPOT_TOKEN

    edit = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "A token is saved; enter a new one to replace it." in edit
    assert "A secret is saved" in edit
    for url in ("/internal/integrations/", response.headers["Location"], f"{response.headers['Location']}/mappings"):
        html = client.get(url).get_data(as_text=True)
        assert HUBSPOT_TOKEN not in html and WEBHOOK_SECRET not in html
        assert connection.token_encrypted not in html

    # Saving with the token left blank keeps it; a new one replaces it.
    client.submit(response.headers["Location"], {"name": "HubSpot demo", "provider": "hubspot", "base_url": sandbox.base,
                                                 "token": "", "sync_trigger": "auto", "existing_policy": "leave"})
    db.session.refresh(connection)
    assert crm.token(connection) == HUBSPOT_TOKEN and connection.active is False
    assert connection.sync_trigger == "auto" and connection.existing_policy == "leave"


def test_a_new_connection_without_a_token_is_refused_next_to_the_field(client, db):
    client.login(internal_user("admin"))
    response = client.submit("/internal/integrations/new", {
        "name": "HubSpot", "provider": "hubspot", "base_url": "ftp://nope", "token": "", "sync_trigger": "auto",
        "existing_policy": "update"})
    assert response.status_code == 422
    assert "Enter the API base URL" in response.get_data(as_text=True) or "Enter the private-app" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(CrmConnection.id))) == 0


def test_test_connection_shows_the_sandbox_account_and_a_bad_token_shows_hubspots_401(client, db, connection):
    client.login(internal_user("admin"))
    response = client.submit(f"/internal/integrations/{connection.id}/test", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-test-result="ok"' in html
    assert "Connected to HubSpot" in html and "Sales Pipeline" in html and "<html" not in html

    crm.update_connection(connection, name=connection.name, base_url=connection.base_url, sync_trigger="auto",
                          existing_policy="update", token="pat-na1-wrong")
    html = client.submit(f"/internal/integrations/{connection.id}/test", headers=HX).get_data(as_text=True)
    assert 'data-test-result="error"' in html
    assert "HubSpot answered 401" in html and "Authentication credentials not found" in html


def _mappings_post(connection, rows, **extra):
    data = {}
    for i, row in enumerate(rows):
        data.update({f"rows-{i}-crm_property": row[0], f"rows-{i}-portal_field": row[1] or "",
                     f"rows-{i}-direction": row[2], f"rows-{i}-default_value": row[3] or ""})
        for j, (portal_value, crm_value) in enumerate((row[4] if len(row) > 4 else {}).items()):
            data[f"rows-{i}-values-{j}-portal_value"] = portal_value
            data[f"rows-{i}-values-{j}-crm_value"] = crm_value
    data.update(extra)
    return data


def _current_rows(connection):
    return [(f"{m.crm_object}.{m.crm_field}", m.portal_field, m.direction, m.default_value, m.value_map)
            for m in crm.mappings_of(connection)]


def test_the_mappings_editor_lists_hubspots_live_properties_and_saves_rows_with_value_maps(client, db, connection):
    client.login(internal_user("admin"))
    url = f"/internal/integrations/{connection.id}/mappings"
    html = client.get(url).get_data(as_text=True)
    assert '<option selected value="deal.dealstage">' in html and 'value="deal.closedate"' in html  # from the properties API
    assert 'name="rows-2-values-0-portal_value"' in html and 'value="appointmentscheduled"' in html
    assert 'name="rows-12-crm_property"' in html  # blank rows for a page without JavaScript (12 mapped)

    rows = _current_rows(connection)
    rows[2] = ("deal.dealstage", "status", "both", None, {"submitted": "appointmentscheduled", "lost": "closedlost"})
    rows.append(("deal.description", "notes", "both", None))
    response = client.submit(url, _mappings_post(connection, rows, **{"rows-99-crm_property": ""}))
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    saved = {(m.crm_object, m.crm_field): m for m in crm.mappings_of(connection)}
    assert saved[("deal", "description")].portal_field == "notes"
    assert saved[("deal", "dealstage")].value_map == {"submitted": "appointmentscheduled", "lost": "closedlost"}


def test_missing_required_mappings_and_bad_rows_are_refused_with_the_error_by_the_row(client, db, connection):
    client.login(internal_user("admin"))
    url = f"/internal/integrations/{connection.id}/mappings"
    rows = [r for r in _current_rows(connection) if r[0] != "deal.pipeline"]
    response = client.submit(url, _mappings_post(connection, rows))
    assert response.status_code == 422
    assert "A deal needs a mapping for &#39;pipeline&#39;" in response.get_data(as_text=True)

    rows = _current_rows(connection) + [("deal.dealtype", None, "push", None)]
    response = client.submit(url, _mappings_post(connection, rows))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    bad_row = html.split('id="mapping-row-12"')[1].split("</tr>")[0]
    assert "needs a default value" in bad_row and 'aria-invalid="true"' in bad_row
    assert len(crm.mappings_of(connection)) == 12  # nothing was saved

    # A removed row is left out of the save.
    rows = _current_rows(connection)
    data = _mappings_post(connection, rows, **{"rows-6-remove": "y"})  # contact.firstname
    assert client.submit(url, data).status_code == 303
    assert ("contact", "firstname") not in {(m.crm_object, m.crm_field) for m in crm.mappings_of(connection)}


def test_add_a_row_answers_one_row_and_the_next_index_out_of_band(client, db, connection):
    client.login(internal_user("admin"))
    html = client.get(f"/internal/integrations/{connection.id}/mappings/row?next_index=13", headers=HX).get_data(
        as_text=True)
    assert html.count("<tr class=\"mapping-row") == 1 and 'name="rows-13-crm_property"' in html
    assert 'id="next-row-index"' in html and 'value="14"' in html and 'hx-swap-oob="true"' in html


def test_rules_are_added_and_deleted(client, db, connection):
    client.login(internal_user("admin"))
    base = f"/internal/integrations/{connection.id}"
    client.submit(f"{base}/test")  # learns the pipelines, so the stages have labels
    html = client.get(f"{base}/mappings").get_data(as_text=True)
    assert 'value="closedwon"' in html and "Closed won" in html
    response = client.submit(f"{base}/rules", {"rule-trigger": "stage", "rule-stages": ["closedwon"],
                                               "rule-target_status": "won_payment_pending"})
    assert response.status_code == 303
    response = client.submit(f"{base}/rules", {"rule-trigger": "property", "rule-crm_property": "",
                                               "rule-values": "yes", "rule-target_status": "accepted"})
    assert response.status_code == 422 and "Name the deal property." in response.get_data(as_text=True)
    client.submit(f"{base}/rules", {"rule-trigger": "property", "rule-crm_property": "dealtype",
                                    "rule-values": "newbusiness, existingbusiness", "rule-target_status": "accepted"})
    rules = crm.rules_of(connection)
    assert [(r.trigger, r.values, r.target_status) for r in rules] == [
        ("stage", ["closedwon"], "won_payment_pending"), ("property", ["newbusiness", "existingbusiness"], "accepted")]
    html = client.get(f"{base}/mappings").get_data(as_text=True)
    assert "Closed won" in html and "<code>dealtype</code>" in html
    assert client.submit(f"{base}/rules/{rules[0].id}/delete").status_code == 303
    assert [r.trigger for r in crm.rules_of(connection)] == ["property"]


def test_the_log_filters_by_connection_record_direction_status_and_date(client, db):
    first = CrmConnection(name="HubSpot EU", base_url="http://a.invalid", token_encrypted=crm.encrypt("t"))
    second = CrmConnection(name="HubSpot US", base_url="http://b.invalid", token_encrypted=crm.encrypt("t"))
    db.session.add_all([first, second])
    db.session.flush()
    ours, other = ReferralFactory(number="R-77001"), ReferralFactory(number="R-77002")
    old = datetime.now(timezone.utc) - timedelta(days=10)
    db.session.add_all([
        SyncLog(connection_id=first.id, entity_type="referral", entity_id=ours.id, direction="push", action="upsert deal",
                status="ok", request_summary="dealname=Ours", message="created deal 11"),
        SyncLog(connection_id=first.id, entity_type="referral", entity_id=ours.id, direction="push", action="upsert deal",
                status="error", request_summary="closedate=soon", message="INVALID_DATE: closedate", at=old),
        SyncLog(connection_id=second.id, entity_type="referral", entity_id=other.id, direction="pull", action="apply",
                status="ok", message="dealstage changed"),
    ])
    db.session.commit()
    client.login(internal_user("manager"))

    def rows(**args):
        html = client.get("/internal/integrations/log", query_string=args, headers=HX).get_data(as_text=True)
        assert "<html" not in html
        return html.count('<li class="log-entry ')  # one per entry

    assert rows() == 3
    assert rows(connection_id=second.id) == 1
    assert rows(record="r-77001") == 2 and rows(record=str(other.id)) == 1 and rows(record="R-nope") == 0
    assert rows(direction="pull") == 1 and rows(status="error") == 1
    assert rows(date_from=(old + timedelta(days=1)).date().isoformat()) == 2
    assert rows(date_to=old.date().isoformat()) == 1
    html = client.get("/internal/integrations/log", query_string={"status": "error"}).get_data(as_text=True)
    assert "closedate=soon" in html and "INVALID_DATE: closedate" in html and "R-77001" in html
    assert 'id="log-results"' in html


def test_sync_now_shows_the_deal_link_and_unlink_stops_later_syncs(client, db, sandbox, connection, run_jobs):
    client.login(internal_user("sales"))
    referral = ReferralFactory()
    page = client.get(f"/internal/referrals/{referral.id}").get_data(as_text=True)
    assert 'id="crm-panel"' in page and "Not in HubSpot yet." in page and "Sync now" in page

    response = client.submit(f"/internal/integrations/referrals/{referral.id}/sync", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert 'hx-trigger="every 1s"' in html and "Sync requested" in html  # polls until the push is done
    run_jobs()
    html = client.get(f"/internal/integrations/referrals/{referral.id}", headers=HX).get_data(as_text=True)
    [link] = crm.links_for(referral)
    assert link.state == "synced" and link.url
    assert 'hx-trigger="every 1s"' not in html
    assert f'href="{link.url}" target="_blank"' in html and "View Deal in HubSpot" in html
    assert f"/internal/integrations/log?record={referral.number}" in html
    deal_id = link.crm_id

    response = client.submit(f"/internal/integrations/referrals/{referral.id}/unlink")  # without JavaScript
    assert response.status_code == 303 and response.headers["Location"] == f"/internal/referrals/{referral.id}"
    db.session.refresh(link)
    assert (link.state, link.crm_id, link.url) == ("unlinked", None, None)
    referrals.mark_lost(referral, reason="Went elsewhere", by=None)  # a change: the link stays unlinked
    run_jobs()
    db.session.refresh(link)
    assert link.state == "unlinked" and not link.dirty
    [deal] = sandbox.all("deals", "dealstage")
    assert deal["id"] == deal_id and deal["properties"]["dealstage"] != "closedlost"
    log = client.get("/internal/integrations/log", query_string={"record": referral.number}).get_data(as_text=True)
    assert "unlink" in log and f"Unlinked from HubSpot deal {deal_id}" in log


def test_sync_now_without_a_connection_explains_and_an_unlinked_referral_cannot_be_unlinked(client, db):
    client.login(internal_user("admin"))
    referral = ReferralFactory()
    response = client.submit(f"/internal/integrations/referrals/{referral.id}/sync", headers=HX)
    assert response.status_code == 422 and "No CRM connection is set up." in response.get_data(as_text=True)
    response = client.submit(f"/internal/integrations/referrals/{referral.id}/unlink", headers=HX)
    assert response.status_code == 422 and "not linked to a CRM record" in response.get_data(as_text=True)


def test_full_sync_progress_polls_while_running_and_stops_when_done(client, db, sandbox, connection, run_jobs):
    ReferralFactory.create_batch(3)
    client.login(internal_user("admin"))
    url = f"/internal/integrations/{connection.id}/full-sync"
    html = client.submit(url, headers=HX).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in html and "Full sync queued" in html and "<html" not in html
    html = client.get(url, headers=HX).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in html  # still queued: keeps polling
    assert 'data-running="true"' in client.get(f"/internal/integrations/{connection.id}").get_data(as_text=True)

    run_jobs()
    html = client.get(url, headers=HX).get_data(as_text=True)
    assert 'hx-trigger' not in html and 'data-running="false"' in html
    assert "Last full sync finished" in html and "3 referrals checked" in html and "Run full sync" in html
    assert len(sandbox.all("deals")) == 3
    assert db.session.scalar(db.select(db.func.count(CrmLink.id)).where(CrmLink.state == "synced")) == 3


def test_tokens_are_encrypted_with_crm_encryption_key_from_the_environment(app, db, monkeypatch, tmp_path):
    from cryptography.fernet import Fernet

    from portal import config
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("CRM_ENCRYPTION_KEY", key)
    monkeypatch.setenv("CRM_SYNC_INTERVAL", "900")
    settings = config.load({"INSTANCE_PATH": str(tmp_path)})
    assert settings["CRM_ENCRYPTION_KEY"] == key and settings["CRM_SYNC_INTERVAL"] == 900
    monkeypatch.setitem(app.config, "CRM_ENCRYPTION_KEY", key)
    stored = crm.encrypt(HUBSPOT_TOKEN)
    assert Fernet(key.encode()).decrypt(stored.encode()).decode() == HUBSPOT_TOKEN
    monkeypatch.setitem(app.config, "CRM_ENCRYPTION_KEY", None)  # the SECRET_KEY-derived key cannot read it
    with pytest.raises(crm.DomainError, match="Enter the token again"):
        crm.decrypt(stored)


def test_an_admin_creates_a_salesforce_connection_and_its_credentials_are_never_shown(client, db, sf_sandbox):
    from tests.crm_fixtures import SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET, SALESFORCE_REFRESH_TOKEN
    client.login(internal_user("admin"))
    response = client.submit("/internal/integrations/new", {
        "name": "Salesforce demo", "provider": "salesforce", "base_url": sf_sandbox.base,
        "client_id": SALESFORCE_CLIENT_ID, "client_secret": SALESFORCE_CLIENT_SECRET,
        "refresh_token": SALESFORCE_REFRESH_TOKEN, "sync_trigger": "auto", "existing_policy": "fill_empty"})
    assert response.status_code == 303
    connection = db.session.scalar(db.select(CrmConnection).where(CrmConnection.provider == "salesforce"))
    assert SALESFORCE_REFRESH_TOKEN not in connection.token_encrypted
    edit = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Credentials are saved" in edit
    assert SALESFORCE_REFRESH_TOKEN not in edit and SALESFORCE_CLIENT_SECRET not in edit
    tested = client.submit(f"{response.headers['Location']}/test", {}).get_data(as_text=True)
    assert "Connected to Salesforce" in tested and "Daily API requests left" in tested
    # Missing credentials are said plainly, and nothing is created.
    page = client.submit("/internal/integrations/new", {
        "name": "Half", "provider": "salesforce", "base_url": sf_sandbox.base, "client_id": SALESFORCE_CLIENT_ID,
        "sync_trigger": "auto", "existing_policy": "fill_empty"})
    assert "Enter a refresh token" in page.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(CrmConnection.id))) == 1


def test_the_referral_panel_speaks_of_salesforce_and_follows_the_lead_into_its_opportunity(client, db, sf_sandbox):
    from portal.sync import engine
    from tests.crm_fixtures import make_salesforce_connection
    connection = make_salesforce_connection(sf_sandbox.base, sync_trigger="manual")
    client.login(internal_user("admin"))
    referral = ReferralFactory(contact_email="ada@lovelace.example")
    page = client.get(f"/internal/integrations/referrals/{referral.id}").get_data(as_text=True)
    assert "Not in Salesforce yet." in page and "Sync now" in page
    crm.sync_now(referral)
    engine.push(connection.id)
    [link] = crm.links_for(referral)
    html = client.get(f"/internal/integrations/referrals/{referral.id}").get_data(as_text=True)
    assert "View Lead in Salesforce" in html and f'href="{link.url}"' in html and "Unlink from Salesforce" in html
    assert requests.get(link.url, timeout=10).status_code == 200  # Lightning-shaped: the sandbox's record page
    opportunity_id = sf_sandbox.convert(link.crm_id)["ConvertedOpportunityId"]
    engine.pull(connection.id)
    html = client.get(f"/internal/integrations/referrals/{referral.id}").get_data(as_text=True)
    assert "View Opportunity in Salesforce" in html and f"/lightning/r/Opportunity/{opportunity_id}/view" in html
