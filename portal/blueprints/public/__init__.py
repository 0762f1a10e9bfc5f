"""Public pages for prospects: a partner's referral link, its embeddable form, the generic form."""
from portal.blueprints.public.views import bp

__all__ = ["bp"]
