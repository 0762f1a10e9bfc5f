"""Pull: HubSpot deal changes come back through the referral services; webhooks pull early."""
from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
import requests

from portal.extensions import db as _db
from portal.models import Commission, Referral, StatusEvent
from portal.services import crm
from portal.sync import engine
from portal.sync.connectors.hubspot import webhooks as hubspot
from tests.factories import CommissionPlanFactory, OrganizationFactory, ReferralFactory, partner_user
from tests.integration.conftest import body
from tests.crm_fixtures import WEBHOOK_SECRET, make_connection


def _pushed_referral(connection):
    partner = partner_user(organization=OrganizationFactory(tier="gold"), email="paula@northwind.example")
    CommissionPlanFactory(tier="gold", percent=Decimal("10"))
    referral = ReferralFactory(partner_org=partner.organization, submitted_by=partner)
    crm.sync_now(referral)
    engine.push(connection.id)
    return referral, crm.links_for(referral)[0].crm_id


def test_closed_won_in_hubspot_marks_the_referral_won_with_commission_and_mail(
        db, sandbox, connection, smtp_server, run_jobs):
    referral, deal_id = _pushed_referral(connection)
    engine.pull(connection.id)  # nothing changed yet: nothing happens
    assert referral.stage == "submitted"

    sandbox.api("PATCH", f"/crm/v3/objects/deals/{deal_id}", {"properties": {"dealstage": "closedwon",
                                                                             "amount": "20000"}})
    stats = engine.pull(connection.id)

    db.session.expire_all()
    assert stats.status_changes == 1
    assert referral.status == "won_payment_pending" and referral.won_amount == Decimal("20000.00")
    commission = db.session.scalar(db.select(Commission).where(Commission.referral_id == referral.id))
    assert commission.amount == Decimal("2000.00")
    assert referral.estimated_value == Decimal("20000.00")  # amount is mapped both ways
    run_jobs()
    [mail] = [m for m in smtp_server.to("paula@northwind.example") if "won" in m["Subject"]]
    assert "2,000.00 USD" in body(mail)
    # The change came from HubSpot: nothing is pushed back, and pulling again changes nothing.
    [link] = crm.links_for(referral)
    assert not link.dirty
    assert engine.pull(connection.id).status_changes == 0
    log = crm.log_entries(crm.LogFilters(entity_id=referral.id, direction="pull"))
    assert log and "won_payment_pending" in log[0].message


def test_closed_lost_marks_the_referral_lost(db, sandbox, connection):
    referral, deal_id = _pushed_referral(connection)
    sandbox.api("PATCH", f"/crm/v3/objects/deals/{deal_id}", {"properties": {"dealstage": "closedlost"}})
    engine.pull(connection.id)
    db.session.expire_all()
    assert referral.stage == "lost"


def test_a_qualification_rule_moves_the_referral_when_the_stage_becomes_one_of_its_values(db, sandbox, connection):
    crm.add_rule(connection, trigger="stage", values=["contractsent", "decisionmakerboughtin"],
                 target_status="accepted")
    crm.add_rule(connection, trigger="property", crm_property="dealtype", values=["existingbusiness"],
                 target_status="lost")
    referral, deal_id = _pushed_referral(connection)
    sandbox.api("PATCH", f"/crm/v3/objects/deals/{deal_id}", {"properties": {"dealstage": "contractsent"}})
    engine.pull(connection.id)
    db.session.expire_all()
    assert referral.stage == "accepted"
    last = db.session.scalars(db.select(StatusEvent).where(StatusEvent.entity_id == referral.id)
                              .order_by(StatusEvent.id.desc())).first()
    assert last.actor_name == "HubSpot" and last.to_status == "accepted"

    sandbox.api("PATCH", f"/crm/v3/objects/deals/{deal_id}", {"properties": {"dealtype": "existingbusiness"}})
    engine.pull(connection.id)
    db.session.expire_all()
    assert referral.stage == "lost"


def test_a_webhook_with_a_bad_signature_is_401_and_changes_nothing(client, db, connection, redis_conn):
    payload = json.dumps([{"objectId": 1, "subscriptionType": "deal.propertyChange"}]).encode()
    stamp = str(int(time.time() * 1000))
    response = client.post("/webhooks/hubspot", data=payload, content_type="application/json",
                           headers={"X-HubSpot-Signature-v3": "bm90IGEgc2lnbmF0dXJl",
                                    "X-HubSpot-Request-Timestamp": stamp})
    assert response.status_code == 401
    old = str(int(time.time() * 1000) - 6 * 60 * 1000)
    uri = "http://localhost/webhooks/hubspot"
    response = client.post("/webhooks/hubspot", data=payload, content_type="application/json", headers={
        "X-HubSpot-Signature-v3": hubspot.signature_v3(WEBHOOK_SECRET, "POST", uri, payload, old),
        "X-HubSpot-Request-Timestamp": old})
    assert response.status_code == 401
    assert redis_conn.keys("rq:job:crm-pull*") == []


@pytest.mark.committed
def test_closed_won_in_the_sandbox_ui_reaches_the_portal_at_once_through_the_webhook(
        live_server, committed_db, sandbox, smtp_server, run_jobs):
    connection = make_connection(sandbox.base)
    sandbox.admin("webhook", {"target_url": f"{live_server}/webhooks/hubspot", "client_secret": WEBHOOK_SECRET,
                              "subscriptions": ["deal.propertyChange:dealstage"]})
    referral, deal_id = _pushed_referral(connection)
    referral_id = referral.id

    # A person moves the deal on the sandbox's record page.
    page = requests.post(f"{sandbox.base}/ui/deals/{deal_id}", data={"dealstage": "closedwon", "amount": "5000"},
                         timeout=10)
    assert page.status_code < 400

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        run_jobs()
        _db.session.rollback()  # a new transaction: SQLite readers keep their snapshot until they end
        if _db.session.get(Referral, referral_id).stage == "won_payment_pending":
            break
        time.sleep(0.2)
    referral = _db.session.get(Referral, referral_id)
    assert referral.status == "won_payment_pending" and referral.won_amount == Decimal("5000.00")
    delivered = sandbox.admin("webhook", method="GET")["deliveries"]
    assert delivered and delivered[-1]["status"] == 200
    run_jobs()
    assert any("won" in m["Subject"] for m in smtp_server.to("paula@northwind.example"))
