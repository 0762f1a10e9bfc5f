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
def jwt_key():
    """The connected app's key pair for the JWT bearer flow; the sandbox holds the public half."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def sandbox_config(tmp_path_factory, jwt_key) -> dict:
    from cryptography.hazmat.primitives import serialization
    database = tmp_path_factory.mktemp("crm_sandbox") / "crm_sandbox.db"
    public_pem = jwt_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return {
        "TESTING": True,
        "SANDBOX_DATABASE_URL": f"sqlite:///{database}",
        "SANDBOX_HUBSPOT_TOKEN": HUBSPOT_TOKEN,
        "SANDBOX_HUBSPOT_WEBHOOK_URL": "",
        "SANDBOX_SALESFORCE_CLIENT_ID": SALESFORCE_CLIENT["client_id"],
        "SANDBOX_SALESFORCE_CLIENT_SECRET": SALESFORCE_CLIENT["client_secret"],
        "SANDBOX_SALESFORCE_REFRESH_TOKEN": SALESFORCE_CLIENT["refresh_token"],
        "SANDBOX_SALESFORCE_JWT_CERTIFICATE": public_pem,
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


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (cert path, key path): Salesforce is HTTPS only,
    and simple-salesforce builds every URL as https://."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.fixture(scope="session")
def salesforce_instance_url(sandbox_app, tls_certificate) -> str:
    """The same Salesforce sandbox served over HTTPS at the root of its own host, like a real
    instance (`crm_sandbox.InstanceRoot`): https://127.0.0.1:<port>."""
    server = make_server("127.0.0.1", 0, crm_sandbox.InstanceRoot(sandbox_app), threaded=True,
                         ssl_context=tls_certificate)
    thread = threading.Thread(target=server.serve_forever, name="crm-sandbox-tls", daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def https_session(tls_certificate):
    """requests trusting the sandbox's certificate (what simple-salesforce sends through)."""
    with requests.Session() as session:
        session.verify = tls_certificate[0]
        session.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would override verify
        yield session


@pytest.fixture
def sf(salesforce_instance_url, salesforce_client, https_session):
    """simple-salesforce logged in with a session from the refresh-token grant.

    simple-salesforce's own login helpers only reach https://{login|test}.salesforce.com, so the
    token comes from the documented request (FACTS §2.2) and the client takes instance_url and
    session_id, as its README shows for "direct" sessions."""
    from simple_salesforce import Salesforce

    answer = https_session.post(f"{salesforce_instance_url}/services/oauth2/token",
                                data=dict(salesforce_client, grant_type="refresh_token"), timeout=10)
    answer.raise_for_status()
    token = answer.json()
    assert token["instance_url"] == salesforce_instance_url
    return Salesforce(instance_url=token["instance_url"], session_id=token["access_token"],
                      session=https_session, version="62.0")


@pytest.fixture
def advance_sandbox_clock(sandbox_url):
    """Move the sandbox's clock forward (stamps, token lifetimes, windows) instead of sleeping."""
    def advance(seconds: float) -> None:
        requests.post(f"{sandbox_url}/sandbox/hubspot/_admin/clock", json={"advance_seconds": seconds},
                      timeout=10).raise_for_status()
    return advance
