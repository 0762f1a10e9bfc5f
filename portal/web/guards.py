"""Who may enter a blueprint or a view. Outsiders get 404: a page they may not use does not exist."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, current_app
from flask_login import current_user


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
    """Within an audience, the view needs one of `roles`; other roles of that audience get 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
