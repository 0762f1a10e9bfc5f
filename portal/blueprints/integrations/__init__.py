"""CRM integration pages: connections, mappings and rules (admins), the log, the record page's CRM
panel, the sync dry run."""
from portal.blueprints.integrations import deals, dry_runs, org_matching, records, views
from portal.blueprints.integrations.blueprint import bp

__all__ = ["bp", "deals", "dry_runs", "org_matching", "records", "views"]
