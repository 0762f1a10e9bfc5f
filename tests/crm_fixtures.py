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
SALESFORCE_CLIENT_ID = "sync-test-consumer-key"
SALESFORCE_CLIENT_SECRET = "sync-test-consumer-secret"
SALESFORCE_REFRESH_TOKEN = "sync-test-refresh-token"
SALESFORCE_USERNAME = "integration@portal.example"


def _jwt_key_pair() -> tuple[str, str]:
    """A private key for the JWT bearer flow and the public key the sandbox verifies it with."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


SALESFORCE_PRIVATE_KEY, _SALESFORCE_PUBLIC_KEY = _jwt_key_pair()


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory):
    database = tmp_path_factory.mktemp("sync_sandbox") / "crm_sandbox.db"
    app = crm_sandbox.create_app({"TESTING": True, "SANDBOX_DATABASE_URL": f"sqlite:///{database}",
                                  "SANDBOX_HUBSPOT_TOKEN": HUBSPOT_TOKEN, "SANDBOX_HUBSPOT_WEBHOOK_URL": "",
                                  "SANDBOX_HUBSPOT_CLIENT_SECRET": WEBHOOK_SECRET,
                                  "SANDBOX_SALESFORCE_CLIENT_ID": SALESFORCE_CLIENT_ID,
                                  "SANDBOX_SALESFORCE_CLIENT_SECRET": SALESFORCE_CLIENT_SECRET,
                                  "SANDBOX_SALESFORCE_REFRESH_TOKEN": SALESFORCE_REFRESH_TOKEN,
                                  "SANDBOX_SALESFORCE_JWT_CERTIFICATE": _SALESFORCE_PUBLIC_KEY,
                                  "SANDBOX_SALESFORCE_USERNAME": SALESFORCE_USERNAME})
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


# ---- Salesforce ----------------------------------------------------------------------------------

class SalesforceSandbox:
    """The Salesforce sandbox as a test sees it (same server as HubSpot's): its admin API and REST
    calls with a token of its own."""

    version = "62.0"

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()

    def admin(self, path: str, body: dict | None = None, method: str = "POST") -> dict:
        answer = requests.request(method, f"{self.base}/_admin/{path}", json=body, timeout=10)
        answer.raise_for_status()
        return answer.json() if answer.content else {}

    def login(self) -> None:
        answer = requests.post(f"{self.base}/services/oauth2/token", data={
            "grant_type": "refresh_token", "client_id": SALESFORCE_CLIENT_ID,
            "client_secret": SALESFORCE_CLIENT_SECRET, "refresh_token": SALESFORCE_REFRESH_TOKEN}, timeout=10)
        answer.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def api(self, method: str, path: str, body=None, params=None, headers=None):
        answer = self.http.request(method, f"{self.base}/services/data/v{self.version}{path}", json=body,
                                   params=params, headers=headers, timeout=30)
        if answer.status_code == 401:
            self.login()
            answer = self.http.request(method, f"{self.base}/services/data/v{self.version}{path}", json=body,
                                       params=params, headers=headers, timeout=30)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else {}

    def query(self, soql: str) -> list[dict]:
        records, answer = [], self.api("GET", "/query", params={"q": soql})
        while True:
            records += answer["records"]
            if answer.get("done", True):
                return records
            answer = self.api("GET", "/query/" + answer["nextRecordsUrl"].rsplit("/", 1)[-1])

    def convert(self, lead_id: str, **options) -> dict:
        return self.admin(f"leads/{lead_id}/convert", {"create_opportunity": True, **options})


@pytest.fixture
def sf_sandbox(sandbox_server):
    box = SalesforceSandbox(sandbox_server.rsplit("/hubspot", 1)[0] + "/salesforce")
    box.admin("reset")
    box.login()
    yield box
    box.admin("faults", method="DELETE")


def salesforce_credentials(flow: str = "refresh_token") -> str:
    from portal.sync.connectors.salesforce import client
    if flow == "jwt":
        return client.credentials_text(client_id=SALESFORCE_CLIENT_ID, username=SALESFORCE_USERNAME,
                                       private_key=SALESFORCE_PRIVATE_KEY)
    return client.credentials_text(client_id=SALESFORCE_CLIENT_ID, client_secret=SALESFORCE_CLIENT_SECRET,
                                   refresh_token=SALESFORCE_REFRESH_TOKEN)


def make_salesforce_connection(base_url: str, flow: str = "refresh_token", **kwargs):
    return crm.create_connection(name="Salesforce (sandbox)", provider="salesforce", base_url=base_url,
                                 token=salesforce_credentials(flow), **kwargs)


@pytest.fixture
def sf_connection(db, sf_sandbox):
    return make_salesforce_connection(sf_sandbox.base)
