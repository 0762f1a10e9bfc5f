"""The Salesforce connector package: `client` (OAuth and the REST calls), `push` (referrals as
Leads), `pull` (SOQL changes, lead conversion) and `connector` (the class registered as "salesforce")."""
from portal.sync.connectors.salesforce import client, pull, push
from portal.sync.connectors.salesforce.connector import SalesforceConnector

__all__ = ["SalesforceConnector", "client", "pull", "push"]
