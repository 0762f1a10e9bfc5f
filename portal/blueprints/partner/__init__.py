"""Partner pages: dashboard, team, referrals, leads. Importing the view modules registers their routes."""
from portal.blueprints.partner import commissions, deals, leads, links, referrals, views
from portal.blueprints.partner.blueprint import bp

__all__ = ["bp", "commissions", "deals", "leads", "links", "referrals", "views"]
