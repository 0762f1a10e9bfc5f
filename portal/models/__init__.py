"""The data model, one module per area; imported here so Alembic and the app see every table."""
from portal.models.accounts import AuthToken, Organization, OrgKind, OrgStatus, RecoveryCode, Role, User
from portal.models.applications import ApplicationStatus, PartnerApplication
from portal.models.audit import AuditEvent
from portal.models.branding import BrandImage
from portal.models.commissions import Commission, CommissionPlan, CommissionStatus, ExchangeRate, PlanKind
from portal.models.deals import DealRegistration, DealStatus, DistributorAssignment
from portal.models.crm import CrmCompany, CrmConnection, CrmLink, FieldMapping, QualificationRule, SyncLog
from portal.models.dry_runs import CrmDryRun, CrmDryRunItem, DryRunStatus
from portal.models.form_tokens import SpentToken
from portal.models.mail import EmailMessage, MailStatus
from portal.models.ledger import BatchStatus, EntryKind, LedgerEntry, PayeeAccount, PayoutBatch
from portal.models.links import LinkVisit, ReferralLink
from portal.models.notifications import Notification
from portal.models.org_matching import Decision, Master, OrgMatchAccount, OrgMatchRow, OrgMatchRun
from portal.models.pipeline import Lead, LeadRule, LeadStatus
from portal.models.referrals import CustomField, Referral, ReferralStatus, Source, Stage, StatusEvent
from portal.models.reports import ExportJob, ExportStatus, SavedView, SavedViewPin, Sharing
from portal.models.sessions import UserSession
from portal.models.settings import CacheStamp, Setting
from portal.models.submissions import SubmissionKey
from portal.models.tallies import CommissionTally, DealTally, ReferralMonthTally, ReferralTally
from portal.models import search as _search  # noqa: F401 - registers the PostgreSQL search indexes

__all__ = [
    "ApplicationStatus", "PartnerApplication",
    "AuthToken", "CacheStamp", "Commission", "CommissionPlan", "CommissionTally", "CommissionStatus", "DealTally", "CrmCompany", "CrmConnection", "CrmLink",
    "ExchangeRate",
    "FieldMapping", "QualificationRule", "SyncLog", "CustomField", "EmailMessage", "Lead",
    "LeadStatus", "LinkVisit", "MailStatus", "Notification", "Organization", "OrgKind", "OrgStatus", "PlanKind", "Referral",
    "ReferralLink", "ReferralMonthTally", "ReferralStatus", "ReferralTally", "Role", "Setting", "Source",
    "SubmissionKey", "Stage", "StatusEvent", "User",
    "DealRegistration", "DealStatus", "DistributorAssignment", "LeadRule",
    "ExportJob", "ExportStatus", "SavedView", "SavedViewPin", "Sharing",
    "BatchStatus", "EntryKind", "LedgerEntry", "PayeeAccount", "PayoutBatch",
    "AuditEvent", "BrandImage", "RecoveryCode", "SpentToken", "UserSession",
    "Decision", "Master", "OrgMatchAccount", "OrgMatchRow", "OrgMatchRun",
    "CrmDryRun", "CrmDryRunItem", "DryRunStatus",
]
