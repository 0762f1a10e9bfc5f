"""Sync heals itself: after the CRM was unreachable, pending pushes go within one sweep of it coming
back, the panel tells the truth meanwhile, and the admins hear once that it fails and once that it works."""
from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
from werkzeug.serving import make_server

import crm_sandbox
from portal.jobs import tasks
from portal.models import CrmConnection, EmailMessage, Notification
from portal.services import crm
from tests.crm_fixtures import HUBSPOT_TOKEN, WEBHOOK_SECRET, Sandbox, make_connection
from tests.factories import ReferralFactory, internal_user

HX = {"HX-Request": "true"}


class StoppableSandbox:
    """A HubSpot sandbox of the test's own that can be stopped (connection refused) and started
    again on the same port with the same data."""

    def __init__(self, folder):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = {"TESTING": True, "SANDBOX_DATABASE_URL": f"sqlite:///{folder / 'box.db'}",
                  "SANDBOX_HUBSPOT_TOKEN": HUBSPOT_TOKEN, "SANDBOX_HUBSPOT_WEBHOOK_URL": "",
                  "SANDBOX_HUBSPOT_CLIENT_SECRET": WEBHOOK_SECRET}
        built = []
        # Built in a thread of its own: the sandbox must not see the portal's app context as its own.
        builder = threading.Thread(target=lambda: built.append(crm_sandbox.create_app(config)))
        builder.start()
        builder.join(30)
        self.app = built[0]
        self.base = f"http://127.0.0.1:{self.port}/sandbox/hubspot"
        self.server = None

    def start(self):
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.server = None


@pytest.fixture
def box(tmp_path):
    sandbox = StoppableSandbox(tmp_path)
    sandbox.start()
    yield sandbox
    if sandbox.server is not None:
        sandbox.stop()
    sandbox.app.extensions["crm_sandbox"].store.dispose()


def _notices(admin) -> list[str]:
    return [n.title for n in Notification.query.filter_by(user_id=admin.id, event="crm_connection_health")
            .order_by(Notification.id)]


def test_after_the_crm_was_unreachable_pending_pushes_go_within_one_sweep_and_admins_hear_once_each_way(
        db, client, box, run_jobs, clock):
    connection = make_connection(box.base, options={"max_retries": 0})
    admin = internal_user("admin")
    client.login(admin)
    box.stop()

    referrals_ = [ReferralFactory() for _ in range(3)]
    for referral in referrals_:
        crm.sync_now(referral)
    run_jobs()  # the push finds the CRM gone: connection refused

    html = client.get(f"/internal/integrations/referrals/{referrals_[0].id}", headers=HX).get_data(as_text=True)
    assert "Waiting to sync" not in html and "Sending to HubSpot" not in html
    assert "HubSpot could not be reached: the connection was refused." in html
    assert "Last attempt" in html and "next try by" in html and 'hx-trigger="every 1s"' not in html
    assert "Traceback" not in html and "ConnectionError" not in html

    for _ in range(4):  # 20 minutes of sweeps, each trying again
        clock.advance(timedelta(minutes=5))
        tasks.sweep()
        run_jobs()
    db.session.expire_all()
    assert _notices(admin) == [f"CRM connection “{connection.name}” keeps failing"]

    # "Sync now" during the outage is an attempt, and its outcome is on the panel.
    attempted = db.session.get(CrmConnection, connection.id).last_error_at
    clock.advance(timedelta(seconds=30))
    html = client.submit(f"/internal/integrations/referrals/{referrals_[1].id}/sync", headers=HX).get_data(as_text=True)
    assert "Sync requested" in html
    run_jobs()
    db.session.expire_all()
    assert db.session.get(CrmConnection, connection.id).last_error_at > attempted

    box.start()
    clock.advance(timedelta(minutes=1))
    tasks.sweep()  # one sweep after the CRM is back
    run_jobs()

    deals = Sandbox(box.base).all("deals", "portal_referral_id")
    assert sorted(d["properties"]["portal_referral_id"] for d in deals) == sorted(str(r.id) for r in referrals_)
    db.session.expire_all()
    assert all(crm.links_for(r)[0].state == "synced" and not crm.links_for(r)[0].dirty for r in referrals_)
    healed = db.session.get(CrmConnection, connection.id)
    assert healed.failing_since is None and healed.last_error is None
    tasks.sweep()  # later sweeps say nothing more
    run_jobs()
    db.session.expire_all()
    assert _notices(admin) == [f"CRM connection “{connection.name}” keeps failing",
                               f"CRM connection “{connection.name}” works again"]
    mails = [m.subject for m in EmailMessage.query.filter_by(to_address=admin.email).order_by(EmailMessage.id)]
    assert mails == _notices(admin)
    html = client.get(f"/internal/integrations/referrals/{referrals_[0].id}", headers=HX).get_data(as_text=True)
    assert "could not be reached" not in html and "View Deal in HubSpot" in html


def test_a_full_sync_is_never_refused_for_a_transient_reason(db, client, box, run_jobs):
    connection = make_connection(box.base, options={"max_retries": 0})
    ReferralFactory.create_batch(2)
    client.login(internal_user("admin"))
    url = f"/internal/integrations/{connection.id}/full-sync"
    box.stop()
    assert client.submit(url, headers=HX).status_code == 200
    run_jobs()  # it fails: the CRM is away; its failed job stays in Redis for a while
    html = client.get(url, headers=HX).get_data(as_text=True)
    assert "The last full sync stopped" in html

    box.start()
    response = client.submit(url, headers=HX)  # the failed job's id does not block the next run
    assert response.status_code == 200 and "Full sync queued" in response.get_data(as_text=True)
    run_jobs()
    html = client.get(url, headers=HX).get_data(as_text=True)
    assert "Last full sync finished" in html and "2 referrals checked" in html
    assert len(Sandbox(box.base).all("deals")) == 2
