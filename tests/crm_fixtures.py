"""CRM sync fixtures: a HubSpot sandbox on a real TCP port, reset per test, and a connection to it.

Registered for every test folder by `pytest_plugins` in tests/conftest.py.
"""
from __future__ import annotations

import threading

import pytest
import requests
from werkzeug.serving import make_server

import crm_sandbox
from portal.services import crm

HUBSPOT_TOKEN = "pat-na1-sync-test-token"
WEBHOOK_SECRET = "sync-test-client-secret"


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory):
    database = tmp_path_factory.mktemp("sync_sandbox") / "crm_sandbox.db"
    app = crm_sandbox.create_app({"TESTING": True, "SANDBOX_DATABASE_URL": f"sqlite:///{database}",
                                  "SANDBOX_HUBSPOT_TOKEN": HUBSPOT_TOKEN, "SANDBOX_HUBSPOT_WEBHOOK_URL": "",
                                  "SANDBOX_HUBSPOT_CLIENT_SECRET": WEBHOOK_SECRET})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="sync-sandbox", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/sandbox/hubspot"
    server.shutdown()
    thread.join(5)
    app.extensions["crm_sandbox"].store.dispose()


class Sandbox:
    """The HubSpot sandbox as a test sees it: its admin API and plain API reads."""

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {HUBSPOT_TOKEN}"

    def admin(self, path: str, body: dict | None = None, method: str = "POST") -> dict:
        answer = requests.request(method, f"{self.base}/_admin/{path}", json=body, timeout=10)
        answer.raise_for_status()
        return answer.json() if answer.content else {}

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        answer = self.http.request(method, self.base + path, json=body, timeout=10)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else {}

    def all(self, object_type: str, properties: str = "") -> list[dict]:
        records, after = [], None
        while True:
            params = {"limit": 100, "properties": properties}
            if after:
                params["after"] = after
            page = self.http.get(f"{self.base}/crm/v3/objects/{object_type}", params=params, timeout=30).json()
            records += page["results"]
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return records

    def associated(self, object_type: str, record_id: str, to_type: str) -> set[str]:
        page = self.api("GET", f"/crm/v4/objects/{object_type}/{record_id}/associations/{to_type}")
        return {str(r["toObjectId"]) for r in page["results"]}


@pytest.fixture
def sandbox(sandbox_server):
    box = Sandbox(sandbox_server)
    box.admin("reset")
    yield box
    box.admin("faults", method="DELETE")


def make_connection(base_url: str, **kwargs):
    return crm.create_connection(name="HubSpot (sandbox)", base_url=base_url, token=HUBSPOT_TOKEN,
                                 webhook_secret=WEBHOOK_SECRET, **kwargs)


@pytest.fixture
def connection(db, sandbox):
    return make_connection(sandbox.base)
