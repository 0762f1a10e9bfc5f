"""Internal (vendor) pages. Importing the view modules registers their routes."""
from portal.blueprints.internal import referrals, views
from portal.blueprints.internal.blueprint import bp

__all__ = ["bp", "referrals", "views"]
