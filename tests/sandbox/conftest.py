"""Fixtures for the sandbox contract tests: one live sandbox over real TCP for the session."""
from __future__ import annotations

import threading

import pytest
import requests
from werkzeug.serving import make_server

import crm_sandbox

HUBSPOT_TOKEN = "pat-na1-test-token"
SALESFORCE_CLIENT = {"client_id": "test-client-id", "client_secret": "test-client-secret",
                     "refresh_token": "test-refresh-token"}


@pytest.fixture(scope="session")
def sandbox_config(tmp_path_factory) -> dict:
    database = tmp_path_factory.mktemp("crm_sandbox") / "crm_sandbox.db"
    return {
        "TESTING": True,
        "SANDBOX_DATABASE_URL": f"sqlite:///{database}",
        "SANDBOX_HUBSPOT_TOKEN": HUBSPOT_TOKEN,
        "SANDBOX_HUBSPOT_WEBHOOK_URL": "",
        "SANDBOX_SALESFORCE_CLIENT_ID": SALESFORCE_CLIENT["client_id"],
        "SANDBOX_SALESFORCE_CLIENT_SECRET": SALESFORCE_CLIENT["client_secret"],
        "SANDBOX_SALESFORCE_REFRESH_TOKEN": SALESFORCE_CLIENT["refresh_token"],
    }


@pytest.fixture(scope="session")
def sandbox_app(sandbox_config):
    app = crm_sandbox.create_app(sandbox_config)
    yield app
    app.extensions["crm_sandbox"].store.dispose()


@pytest.fixture(scope="session")
def sandbox_url(sandbox_app) -> str:
    """http://127.0.0.1:<port> of the sandbox, served by a threaded werkzeug server."""
    server = make_server("127.0.0.1", 0, sandbox_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="crm-sandbox", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def fresh_sandboxes(sandbox_url):
    """Every test starts with empty CRMs, no faults, zeroed counters and default limits."""
    for crm in ("hubspot", "salesforce"):
        requests.post(f"{sandbox_url}/sandbox/{crm}/_admin/reset", timeout=10).raise_for_status()
    yield


@pytest.fixture
def hubspot_url(sandbox_url) -> str:
    return f"{sandbox_url}/sandbox/hubspot"


@pytest.fixture
def hubspot_headers() -> dict:
    return {"Authorization": f"Bearer {HUBSPOT_TOKEN}"}


@pytest.fixture
def hubspot_client(hubspot_url):
    """HubSpot's own SDK, pointed at the sandbox: `host` replaces https://api.hubapi.com."""
    from hubspot import HubSpot
    return HubSpot(access_token=HUBSPOT_TOKEN, host=hubspot_url)


@pytest.fixture
def salesforce_url(sandbox_url) -> str:
    return f"{sandbox_url}/sandbox/salesforce"


@pytest.fixture
def salesforce_client() -> dict:
    return dict(SALESFORCE_CLIENT)


class _InstanceSession(requests.Session):
    """requests against an instance_url with the access token, like a connector's client."""

    def __init__(self, instance_url: str, token: str):
        super().__init__()
        self.instance_url = instance_url
        self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method, url, *args, **kwargs):
        if url.startswith("/"):
            url = self.instance_url + url
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def salesforce_session(salesforce_url, salesforce_client):
    """Logged in through the refresh-token grant; paths are relative to the returned instance_url."""
    answer = requests.post(f"{salesforce_url}/services/oauth2/token",
                           data=dict(salesforce_client, grant_type="refresh_token"), timeout=10)
    answer.raise_for_status()
    with _InstanceSession(answer.json()["instance_url"], answer.json()["access_token"]) as session:
        yield session
