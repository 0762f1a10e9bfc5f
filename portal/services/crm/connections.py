"""CRM connections: connection CRUD, the connection test, and the CRM's property lists (cached on
the connection, so the mappings page never calls the CRM to render)."""
from __future__ import annotations

from dataclasses import dataclass

from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.models import CrmConnection
from portal.models.crm import ExistingPolicy, Provider, SyncTrigger
from portal.models.types import utcnow
from portal.services.crm import configuration
from portal.sync import connectors, credentials, mapping
from portal.sync.http import CrmError

encrypt, decrypt, token, webhook_secret = (credentials.encrypt, credentials.decrypt, credentials.token,
                                           credentials.webhook_secret)


def list_connections() -> list[CrmConnection]:
    return list(db.session.scalars(db.select(CrmConnection).order_by(CrmConnection.id)))


def get_connection(connection_id: int) -> CrmConnection:
    connection = db.session.get(CrmConnection, connection_id)
    if connection is None:
        raise NotFound()
    return connection


def providers() -> list[tuple[str, str]]:
    """(provider, label) of the CRMs a connection can be made to."""
    return connectors.providers()


def provider_label(connection: CrmConnection) -> str:
    return connectors.get(connection.provider).label if connection.provider in connectors.CONNECTORS \
        else connection.provider.capitalize()


@dataclass
class Terms:
    """How a connection's CRM names things, for the pages (never "HubSpot" on a Salesforce page)."""

    label: str              # "Salesforce"
    record: str             # what a referral becomes there: "Deal", "Lead" (or "Contact")
    field: str              # "property" (HubSpot) or "field" (Salesforce)
    stage_property: str     # the CRM property that carries a deal's stage
    requirements: str       # "A Lead needs LastName and Company."
    record_choices: tuple   # (value, label) of what a referral may become, when the CRM offers a choice
    contact_rules: bool     # can a qualification rule watch the record's contact (Referral Factory's option 2)?


def terms(connection: CrmConnection) -> Terms:
    connector = connectors.get(connection.provider)
    labels = connector.object_labels
    choices = tuple(getattr(connector, "record_choices", ()))
    chosen = (connection.options or {}).get(connectors.RECORD_OPTION)
    record = chosen if chosen in dict(choices) else labels.get("deal", "Deal")  # choices are the CRM's nouns
    needs = "; ".join(f"{labels.get(obj, obj)} {' and '.join(names)}"
                      for obj, names in connector.required_fields.items())
    return Terms(connector.label, record, getattr(connector, "field_noun", "property"), connector.stage_property,
                 f"Required: {needs}." if needs else "", choices,
                 # where the referral is a Contact itself, its own field rules are the Contact rules
                 bool(getattr(connector, "contact_rules", False)) and record != "Contact")


def _apply_record_option(connection: CrmConnection, referral_record: str | None) -> None:
    """Referral Factory's "create a new Contact": keep the choice if the connector offers it."""
    if referral_record in (None, ""):
        return
    choices = dict(getattr(connectors.get(connection.provider), "record_choices", ()))
    if referral_record not in choices:
        raise DomainError("Choose what a referral becomes in the CRM.", field="referral_record")
    connection.options = {**(connection.options or {}), connectors.RECORD_OPTION: referral_record}


def create_connection(*, name: str, base_url: str, token: str, provider: str = Provider.HUBSPOT.value,
                      webhook_secret: str | None = None, sync_trigger: str = SyncTrigger.AUTO.value,
                      existing_policy: str = ExistingPolicy.FILL_EMPTY.value,
                      options: dict | None = None, credentials: dict | None = None,
                      referral_record: str | None = None) -> CrmConnection:
    """Create a connection with its connector's default field mappings, then load the CRM's property
    lists. `credentials`: the fields of a connector that needs more than one token (Salesforce's
    OAuth client), stored encrypted as one text. Raises DomainError for bad input (nothing is created)."""
    if provider not in connectors.CONNECTORS:
        raise DomainError("Connections to this CRM are not available yet.", field="provider")
    token = _credentials_text(provider, credentials) or token
    if not (token or "").strip():
        raise DomainError("Enter the private-app access token.", field="token")
    connection = CrmConnection(provider=provider, options=dict(options or {}), account={}, crm_properties={})
    _apply_settings(connection, name=name, base_url=base_url, sync_trigger=sync_trigger,
                    existing_policy=existing_policy)
    _apply_record_option(connection, referral_record)
    connection.token_encrypted = encrypt(token.strip())
    connection.webhook_secret_encrypted = encrypt((webhook_secret or "").strip() or None)
    for position, m in enumerate(connectors.get(provider).default_mappings()):
        connection.mappings.append(configuration.mapping_row(m, position))
    db.session.add(connection)
    db.session.commit()
    refresh_properties(connection, quick=True)
    return connection


def update_connection(connection: CrmConnection, *, name: str, base_url: str, sync_trigger: str,
                      existing_policy: str, active: bool = True, token: str | None = None,
                      webhook_secret: str | None = None, credentials: dict | None = None,
                      referral_record: str | None = None) -> CrmConnection:
    """Change a connection; a blank token or secret keeps the stored one (it is never shown again).
    Reloads the CRM's property lists. Raises DomainError for bad input (nothing changes)."""
    token = _credentials_text(connection.provider, credentials) or token
    _apply_settings(connection, name=name, base_url=base_url, sync_trigger=sync_trigger,
                    existing_policy=existing_policy)
    _apply_record_option(connection, referral_record)
    connection.active = bool(active)
    if (token or "").strip():
        connection.token_encrypted = encrypt(token.strip())
    if (webhook_secret or "").strip():
        connection.webhook_secret_encrypted = encrypt(webhook_secret.strip())
    db.session.commit()
    refresh_properties(connection, quick=True)
    return connection


def _credentials_text(provider: str, credentials: dict | None) -> str | None:
    """The stored text of a connector's several credential fields; None when they are all blank."""
    build = getattr(connectors.get(provider), "credentials_text", None)
    if build is None or not any((v or "").strip() for v in (credentials or {}).values()):
        return None
    return build(**{k: v or "" for k, v in credentials.items() if k in connectors.get(provider).credential_fields})


def _apply_settings(connection, *, name, base_url, sync_trigger, existing_policy) -> None:
    """Check every value first, then set them: a refused change leaves the connection as it was."""
    base_url = (base_url or "").strip().rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise DomainError("Enter the API base URL, e.g. https://api.hubapi.com.", field="base_url")
    if sync_trigger not in {t.value for t in SyncTrigger}:
        raise DomainError("Choose automatic or manual.", field="sync_trigger")
    if existing_policy not in {p.value for p in ExistingPolicy}:
        raise DomainError("Choose what happens to an existing customer.", field="existing_policy")
    connection.name = (name or "").strip()[:120] or connectors.get(connection.provider).label
    connection.base_url = base_url
    connection.sync_trigger = sync_trigger
    connection.existing_policy = existing_policy


def connector(connection: CrmConnection, **client_options):
    """The connection's connector, from the registry (a fresh HTTP session; the budget is shared)."""
    return connectors.for_connection(connection, **client_options)


@dataclass
class TestResult:
    ok: bool
    message: str


def test_connection(connection: CrmConnection) -> TestResult:
    """Call the CRM with the stored token: what the connector reads (HubSpot: the deal pipelines), or
    the CRM's own error. The CRM is called with no transaction open."""
    try:
        crm = connector(connection, max_retries=1, max_wait_seconds=5)
    except DomainError as err:
        return TestResult(False, err.message)
    connection_id = connection.id
    db.session.commit()
    report = crm.test()
    if report.ok:
        connection = db.session.get(CrmConnection, connection_id)
        connection.account = {**report.account, "checked_at": utcnow().isoformat()}
        db.session.commit()
    return TestResult(report.ok, report.message)


def refresh_properties(connection: CrmConnection, *, quick: bool = False) -> TestResult:
    """Load the CRM's property lists of every object into the connection's cache (read, then call
    with no transaction open, then write). A failure keeps the previous lists and says why."""
    label = provider_label(connection)
    try:
        crm = connector(connection, max_retries=0 if quick else 1, max_wait_seconds=5)
    except DomainError as err:
        return TestResult(False, err.message)
    connection_id = connection.id
    db.session.commit()
    lists = {}
    try:
        for crm_object in getattr(crm, "mapping_objects", mapping.REFERRAL_OBJECTS):
            lists[crm_object] = crm.properties(crm_object)
        setup = getattr(crm, "setup_lists", None)  # a connector's setup data (Salesforce's record types)
        if setup is not None:
            lists.update(setup())
    except CrmError as err:
        return TestResult(False, f"{label}'s property list could not be loaded ({err.message}).")
    connection = db.session.get(CrmConnection, connection_id)
    connection.crm_properties = lists
    connection.crm_properties_at = utcnow()
    db.session.commit()
    return TestResult(True, f"{label}'s property lists are loaded.")


def crm_properties(connection: CrmConnection, crm_object: str) -> list[dict]:
    """The cached property list of a CRM object (no call: see refresh_properties)."""
    return list((connection.crm_properties or {}).get(crm_object) or [])
