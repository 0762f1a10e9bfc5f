"""Domain errors: messages written for the person who reads them (STYLE.md §10)."""
from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain was broken; `field` names the form field it belongs to, if any."""

    status_code = 422

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """Outside the user's scope or absent: both look the same to the user (404, never 403)."""

    status_code = 404

    def __init__(self, message: str = "Not found."):
        super().__init__(message)


class InvalidTransition(DomainError):
    status_code = 409


class InvalidToken(DomainError):
    status_code = 400
