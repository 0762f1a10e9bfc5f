"""A push killed with SIGKILL in the middle of a batch, then restarted: no duplicate, nothing lost."""
from __future__ import annotations

import pytest

from portal.extensions import db as _db
from portal.models import CrmLink
from portal.services import crm
from tests.factories import ReferralFactory
from tests.crm_fixtures import make_connection
from tests.integration.sync.processes import push_killed_when, run_push


@pytest.mark.committed
def test_a_push_killed_mid_batch_and_restarted_leaves_no_duplicate_and_nothing_missing(app, committed_db, redis_conn,
                                                                                       sandbox):
    connection = make_connection(sandbox.base, sync_trigger="manual")
    referrals_ = [ReferralFactory() for _ in range(250)]
    for referral in referrals_:
        crm.sync_now(referral)
    sandbox.admin("faults", {"latency_ms": 150})

    def one_batch_committed_and_the_next_between_its_calls() -> bool:
        calls = sandbox.admin("stats", method="GET")["endpoints"]
        return calls.get("POST /crm/v3/objects/deals/batch/upsert", 0) >= 1 and \
            calls.get("POST /crm/v3/objects/contacts/batch/read", 0) >= 2

    pending = push_killed_when(app, connection.id, one_batch_committed_and_the_next_between_its_calls)
    assert 0 < pending < 250  # killed in the middle: some work done, some left
    sandbox.admin("faults", method="DELETE")

    # Restart: the engine picks up what the database says is pending.
    run_push(app, connection.id)

    _db.session.rollback()
    deals = [d["properties"]["portal_referral_id"] for d in sandbox.all("deals", "portal_referral_id")]
    emails = [c["properties"]["email"] for c in sandbox.all("contacts", "email")]
    domains = [c["properties"]["domain"] for c in sandbox.all("companies", "domain")]
    assert sorted(deals) == sorted(str(r.id) for r in referrals_)
    assert len(emails) == len(set(emails)) == 250 and len(domains) == len(set(domains)) == 250
    links = list(_db.session.scalars(_db.select(CrmLink)))
    assert len(links) == 250 and all(link.state == "synced" and not link.dirty for link in links)
    assert all(link.associated_key == link.wanted_associations for link in links)
