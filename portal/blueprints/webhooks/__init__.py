"""Inbound CRM webhooks (no session, no CSRF: each request is authenticated by its signature)."""
from portal.blueprints.webhooks.views import bp

__all__ = ["bp"]
