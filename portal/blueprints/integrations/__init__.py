"""CRM integration pages: connections, mappings and rules (admins), the log, the record page's CRM
panel, the sync dry run, organization matching and organization sync's settings."""
from portal.blueprints.integrations import deals, dry_runs, org_matching, org_sync, records, views
from portal.blueprints.integrations.blueprint import bp

__all__ = ["bp", "deals", "dry_runs", "org_matching", "org_sync", "records", "views"]
