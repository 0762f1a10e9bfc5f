"""The audit trail of internal actions: who changed what and when, before -> after, for
organizations, settings, commission plans, CRM connections and mappings, users, and referral
decisions; the admins' page with filters and a CSV export with formulas neutralised (issue #15 item 7)."""
from __future__ import annotations

import csv
import io

from portal.extensions import db as _db
from portal.models import AuditEvent
from tests.factories import OrganizationFactory, ReferralFactory, internal_user


def _events(entity_type: str) -> list[AuditEvent]:
    return list(_db.session.scalars(_db.select(AuditEvent).where(AuditEvent.entity_type == entity_type)
                                    .order_by(AuditEvent.id)))


def test_an_organization_change_is_recorded_with_who_before_and_after(client, db):
    admin = internal_user("admin")
    org = OrganizationFactory(name="Old Name Ltd", tier="silver")
    client.login(admin)
    response = client.submit(f"/internal/organizations/{org.id}/edit",
                             {"name": "New Name Ltd", "kind": "partner", "tier": "gold", "domain": org.domain,
                              "country": "US"})
    assert response.status_code == 303
    changed = [e for e in _events("organization") if e.action == "changed"]
    assert len(changed) == 1
    event = changed[0]
    assert (event.actor_id, event.actor_label, event.entity_id) == (admin.id, admin.email, str(org.id))
    assert event.changes["name"] == ["Old Name Ltd", "New Name Ltd"]
    assert event.changes["tier"] == ["silver", "gold"]


def test_settings_plans_users_and_referral_decisions_are_recorded(client, db):
    admin = internal_user("admin")
    client.login(admin)
    assert client.submit("/internal/settings/duplicates", {"policy": "block", "window_days": "30"}).status_code == 303
    assert client.submit("/internal/commissions/plans/new", {
        "name": "Gold 7", "kind": "percent", "percent": "7", "currency": "USD", "tier": "gold",
        "organization_id": "0"}).status_code == 303
    referral = ReferralFactory()
    assert client.submit(f"/internal/referrals/{referral.id}/reject", {"reject-reason": "Existing customer"}).status_code == 303
    member = internal_user("sales")
    assert client.submit(f"/internal/users/{member.id}/status", {"active": "0"}).status_code == 303

    assert any(e.entity_label == "duplicates" for e in _events("setting"))
    plan = [e for e in _events("commission_plan") if e.action == "created"]
    assert plan and plan[0].changes["name"] == [None, "Gold 7"] and plan[0].actor_id == admin.id
    decision = [e for e in _events("referral") if e.entity_id == str(referral.id)]
    assert decision and decision[0].changes["status"][1] == "rejected"
    assert decision[0].changes["rejection_reason"] == [None, "Existing customer"]
    user_events = [e for e in _events("user") if e.entity_id == str(member.id) and e.action == "changed"]
    assert user_events and user_events[0].changes["active"] == [True, False]


def test_crm_connection_secrets_are_recorded_as_changed_never_their_values(client, db, connection):
    admin = internal_user("admin")
    client.login(admin)
    response = client.submit(f"/internal/integrations/{connection.id}", {
        "name": "HubSpot renamed", "provider": "hubspot", "base_url": connection.base_url, "token": "pat-new-secret",
        "webhook_secret": "", "sync_trigger": "manual", "existing_policy": connection.existing_policy, "active": "y"})
    assert response.status_code in (303, 200), response.get_data(as_text=True)[:300]
    changed = [e for e in _events("crm_connection") if e.action == "changed"]
    assert changed, [(e.action, e.changes) for e in _events("crm_connection")]
    assert changed[-1].changes["name"] == ["HubSpot (sandbox)", "HubSpot renamed"]
    assert changed[-1].changes["token_encrypted"] == ["(hidden)", "(changed)"]
    assert "pat-new-secret" not in str([e.changes for e in _events("crm_connection")])


def test_the_audit_page_filters_and_exports_csv_with_formulas_neutralised(client, db):
    admin = internal_user("admin")
    client.login(admin)
    org = OrganizationFactory(name="Harmless")
    client.submit(f"/internal/organizations/{org.id}/edit", {"name": "=HYPERLINK(\"http://evil\")", "kind": "partner",
                                                             "tier": "", "domain": "", "country": ""})
    client.submit("/internal/settings/duplicates", {"policy": "flag", "window_days": "60"})
    page = client.get("/internal/audit?entity_type=organization").get_data(as_text=True)
    assert "HYPERLINK" in page and "duplicates" not in page
    assert "duplicates" in client.get("/internal/audit?entity_type=setting").get_data(as_text=True)
    assert client.get(f"/internal/audit?actor={admin.email}").status_code == 200
    exported = client.get("/internal/audit.csv?entity_type=organization")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert rows[0][:3] == ["at", "actor", "action"]
    names = [r for r in rows[1:] if r[6] == "name"]
    assert names and names[0][8].startswith("'=HYPERLINK") and names[0][7] == "Harmless"


def test_only_admins_see_the_audit_trail(client, db):
    client.login(internal_user("manager"))
    assert client.get("/internal/audit").status_code == 403
    assert client.get("/internal/audit.csv").status_code == 403
