"""CRM integration pages: connections, mappings and rules (admins), the log, the record page's CRM panel."""
from portal.blueprints.integrations import deals, org_matching, records, views
from portal.blueprints.integrations.blueprint import bp

__all__ = ["bp", "deals", "org_matching", "records", "views"]
