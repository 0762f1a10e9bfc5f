"""Partner pages: dashboard, team, referrals, leads. Importing the view modules registers their routes."""
from portal.blueprints.partner import deals, leads, links, referrals, views
from portal.blueprints.partner.blueprint import bp

__all__ = ["bp", "deals", "leads", "links", "referrals", "views"]
