"""Reports for every signed-in user: the report engine's page, saved views and exports."""
from portal.blueprints.reports.views import bp

__all__ = ["bp"]
