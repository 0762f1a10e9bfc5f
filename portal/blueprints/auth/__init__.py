"""Signing in (password, then the second factor), out, password resets, invitations, one's account.
Importing the view modules registers their routes."""
from portal.blueprints.auth import second_factor, views
from portal.blueprints.auth.blueprint import bp

__all__ = ["bp", "second_factor", "views"]
