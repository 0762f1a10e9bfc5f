"""Internal (vendor) pages. Importing the view modules registers their routes."""
from portal.blueprints.internal import (applications, audit, branding, commissions, deal_settings, deals, payouts,
                                       referrals, settings, views)
from portal.blueprints.internal.blueprint import bp

__all__ = ["bp", "applications", "audit", "branding", "commissions", "deal_settings", "deals", "payouts", "referrals",
           "settings", "views"]
