"""No job holds a database transaction open across a CRM call: fetch, then call, then write."""
from __future__ import annotations

import requests

from portal.extensions import db as _db
from portal.services import crm
from portal.sync import engine
from tests.factories import ReferralFactory


def test_push_pull_and_full_sync_call_the_crm_with_no_transaction_open(db, sandbox, connection, monkeypatch):
    for referral in ReferralFactory.create_batch(3):
        crm.sync_now(referral)
    open_during_calls = []
    send = requests.Session.request

    def watched(self, method, url, *args, **kwargs):
        open_during_calls.append((method, url.split("/sandbox/hubspot")[-1], _db.session().in_transaction()))
        return send(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", watched)
    engine.push(connection.id)
    engine.pull(connection.id)
    engine.full_sync(connection.id)

    assert len(open_during_calls) >= 8  # contacts, companies, deals, associations, searches...
    assert [call for call in open_during_calls if call[2]] == []
