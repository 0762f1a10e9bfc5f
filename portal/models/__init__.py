"""The data model, one module per area; imported here so Alembic and the app see every table."""
from portal.models.accounts import AuthToken, Organization, OrgKind, OrgStatus, Role, User
from portal.models.mail import EmailMessage, MailStatus

__all__ = ["AuthToken", "EmailMessage", "MailStatus", "Organization", "OrgKind", "OrgStatus", "Role", "User"]
