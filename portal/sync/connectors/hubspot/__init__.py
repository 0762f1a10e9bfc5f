"""The HubSpot connector package: `client` (the API and its rate limits), `push`, `pull`, `webhooks`,
and `connector` (the class registered under "hubspot")."""
from portal.sync.connectors.hubspot import client, pull, push, webhooks
from portal.sync.connectors.hubspot.connector import HubSpotConnector

__all__ = ["HubSpotConnector", "client", "pull", "push", "webhooks"]
