"""CRM connectors by provider name; importing this package registers every connector in it."""
from portal.sync.connectors import hubspot, salesforce
from portal.sync.connectors.base import CONNECTORS, RECORD_OPTION, for_connection, get, providers, register, syncs

__all__ = ["CONNECTORS", "RECORD_OPTION", "for_connection", "get", "hubspot", "providers", "register", "salesforce", "syncs"]
