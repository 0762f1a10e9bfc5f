"""Who may enter a blueprint or a view, and what a template may offer. Outsiders get 404: a page
they may not use does not exist.

PERMISSIONS is the one list of who may do what: views guard with `@requires("manage_orgs")` and
templates ask `can("manage_orgs")` (a Jinja global), so a button is shown exactly when its view
would let the user through.
"""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, current_app
from flask_login import current_user

PERMISSIONS: dict[str, frozenset[str]] = {
    "manage_orgs": frozenset({"admin", "manager"}),  # add, edit, (de)activate partner organizations
    "manage_commissions": frozenset({"admin", "manager"}),  # plans, and the commissions partners earned
    "manage_users": frozenset({"admin"}),  # invite internal and partner users, (de)activate them
    "manage_settings": frozenset({"admin"}),  # the referral form, statuses, duplicates, branding
    "manage_integrations": frozenset({"admin"}),  # CRM connections, mappings, the sync
    "manage_team": frozenset({"partner_admin"}),  # a partner admin's own team and sharing
    "manage_payouts": frozenset({"admin", "manager"}),  # payout batches: create, export, mark paid, cancel
    "see_ledger": frozenset({"partner_admin"}),  # the organization's commission ledger, statements, payee details
    "view_audit": frozenset({"admin"}),  # the audit trail and its export
}


def can(permission: str, user=None) -> bool:
    """May `user` (default: the signed-in user) do `permission`? An unknown name is a bug: KeyError."""
    user = current_user if user is None else user
    allowed = PERMISSIONS[permission]
    return bool(getattr(user, "is_authenticated", False)) and user.role in allowed


def requires(permission: str):
    """The view needs `permission`; a signed-in internal user without it gets 403, a partner 404
    (`refused()`)."""
    PERMISSIONS[permission]  # fail at import time on a misspelt name, not on the first request

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not can(permission):
                refused()
            return view(*args, **kwargs)

        return wrapped

    return decorator


def refused():
    """A signed-in user may not use this view: 403 for internal staff, who see the records anyway;
    404 for a partner, as for outsiders, since a 403 on `/partner/team/<id>` would tell a partner
    user that another organization's user exists (issue #15: the route matrix)."""
    abort(404 if getattr(current_user, "is_partner", False) else 403)


def restrict_blueprint(bp: Blueprint, audience: str) -> None:
    """Every view of `bp` needs a signed-in user of `audience` ("internal" or "partner")."""

    @bp.before_request
    def _guard():
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        allowed = current_user.is_internal if audience == "internal" else current_user.is_partner
        if not allowed:
            abort(404)


def roles_required(*roles: str):
    """Within an audience, the view needs one of `roles`; other roles of that audience get 403.

    Prefer `requires(permission)`, whose rule templates can ask with `can()`.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                refused()
            return view(*args, **kwargs)

        return wrapped

    return decorator
