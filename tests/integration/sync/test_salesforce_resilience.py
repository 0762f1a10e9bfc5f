"""Salesforce when things go wrong, over real HTTP against the sandbox's fault injection: an expired
session is refreshed once, 30 % 5xx and a REQUEST_LIMIT_EXCEEDED storm, and a worker killed mid-batch
and restarted, each ending with every referral exactly once in Salesforce."""
from __future__ import annotations

import pytest

from portal.extensions import db as _db
from portal.models import CrmConnection, CrmLink
from portal.services import crm
from portal.sync import connectors, engine
from portal.sync.http import CrmError
from tests.crm_fixtures import make_salesforce_connection
from tests.factories import OrganizationFactory, ReferralFactory, partner_user
from tests.integration.sync.processes import push_killed_when, run_push

EXISTING = 3   # referrals whose email is a Lead already: the duplicate look-ups are in play too


def _scene(sf_sandbox, count: int):
    """`count` referrals to push, the first EXISTING of them already Leads in Salesforce (by email)."""
    partner = partner_user(organization=OrganizationFactory())
    referrals = [ReferralFactory(partner_org=partner.organization, submitted_by=partner) for _ in range(count)]
    existing = {sf_sandbox.api("POST", "/sobjects/Lead", {"LastName": "Known", "Company": "Known Co",
                                                          "Email": r.contact_email})["id"]
                for r in referrals[:EXISTING]}
    for referral in referrals:
        crm.sync_now(referral)
    return referrals, existing


def _assert_each_referral_once(sf_sandbox, referrals, existing) -> None:
    leads = sf_sandbox.query("SELECT Id, Portal_Referral_Id__c FROM Lead")
    ours = [l["Portal_Referral_Id__c"] for l in leads]
    assert sorted(ours, key=str) == sorted((str(r.id) for r in referrals), key=str)   # none missing, none twice
    assert len(leads) == len(referrals) and existing <= {l["Id"] for l in leads}
    links = list(_db.session.scalars(_db.select(CrmLink)))
    assert len(links) == len(referrals) and all(l.state == "synced" and not l.dirty for l in links)
    assert len({l.crm_id for l in links}) == len(referrals)


def _push_until_done(connection_id: int, attempts: int = 20) -> int:
    """Push as the sweep does: a push that stops on a CRM error is run again (its records stay dirty)."""
    failures = 0
    for _ in range(attempts):
        try:
            engine.push(connection_id)
        except CrmError:
            failures += 1
            continue
        _db.session.expire_all()
        if not _db.session.scalar(_db.select(_db.func.count(CrmLink.id)).where(CrmLink.dirty.is_(True))):
            return failures
    pytest.fail("the push never finished")


def test_an_expired_session_is_refreshed_once_and_the_call_retried(db, sf_sandbox, sf_connection):
    connector = connectors.for_connection(_db.session.get(CrmConnection, sf_connection.id))
    connector.api.client()                       # logged in
    sf_sandbox.admin("sessions/expire")          # ... and that session has expired
    sf_sandbox.admin("stats", method="DELETE")

    assert list(connector.api.query("SELECT Id FROM Organization"))

    stats = sf_sandbox.admin("stats", method="GET")
    assert stats["endpoints"]["POST /services/oauth2/token"] == 1          # one refresh
    assert stats["statuses"].get("401") == 1                               # one refused call, retried
    # A session that expires again is refreshed again (once per refused call), never in a loop.
    sf_sandbox.admin("sessions/expire")
    assert list(connector.api.query("SELECT Id FROM Organization"))
    assert sf_sandbox.admin("stats", method="GET")["endpoints"]["POST /services/oauth2/token"] == 2


def test_thirty_percent_5xx_and_a_request_limit_storm_end_with_no_duplicate_and_nothing_missing(
        db, sf_sandbox, sf_connection):
    referrals, existing = _scene(sf_sandbox, 250)
    sf_sandbox.admin("faults", {"status": 503, "fail_ratio": 0.3})
    _push_until_done(sf_connection.id)
    sf_sandbox.admin("faults", method="DELETE")
    _assert_each_referral_once(sf_sandbox, referrals, existing)

    # Then a storm: every call answers 403 REQUEST_LIMIT_EXCEEDED for a minute, while the portal changes.
    for referral in referrals:
        referral.notes = "changed during the storm"
        crm.mark_dirty(referral)
    _db.session.commit()
    sf_sandbox.admin("faults", {"force_429_seconds": 60})
    with pytest.raises(CrmError) as stopped:
        engine.push(sf_connection.id)
    assert stopped.value.retryable and "REQUEST_LIMIT_EXCEEDED" in stopped.value.message
    _db.session.expire_all()
    connection = _db.session.get(CrmConnection, sf_connection.id)
    assert connection.failing_since is not None and connection.next_retry_at is not None
    assert _db.session.scalar(_db.select(_db.func.count(CrmLink.id)).where(CrmLink.dirty.is_(True))) == 250

    sf_sandbox.admin("clock", {"advance_seconds": 61})     # the storm is over (sessions expired meanwhile)
    sf_sandbox.admin("faults", {"status": 503, "fail_ratio": 0.3})
    _push_until_done(sf_connection.id)
    sf_sandbox.admin("faults", method="DELETE")

    _assert_each_referral_once(sf_sandbox, referrals, existing)
    notes = {l["Description"] for l in sf_sandbox.query("SELECT Description FROM Lead")}
    assert notes == {"changed during the storm"}


@pytest.mark.committed
def test_a_worker_killed_mid_batch_and_restarted_leaves_no_duplicate_and_nothing_missing(
        app, committed_db, redis_conn, sf_sandbox):
    # redis_conn: the queue starts empty (a job killed with its worker in an earlier test stays "started").
    connection = make_salesforce_connection(sf_sandbox.base, sync_trigger="manual")
    referrals, existing = _scene(sf_sandbox, 250)   # two batches: 200, then 50
    sf_sandbox.admin("faults", {"latency_ms": 150})
    sf_sandbox.admin("stats", method="DELETE")

    def one_batch_written_and_the_next_looked_up() -> bool:
        # Per batch: one Composite call of look-ups, one of writes (and the describes, once).
        return sf_sandbox.admin("stats", method="GET")["endpoints"].get("POST /services/data/v62.0/composite", 0) >= 3

    pending = push_killed_when(app, connection.id, one_batch_written_and_the_next_looked_up)
    assert 0 < pending < 250  # killed in the middle: some work done, some left
    sf_sandbox.admin("faults", method="DELETE")

    run_push(app, connection.id)

    _db.session.rollback()
    _assert_each_referral_once(sf_sandbox, referrals, existing)
