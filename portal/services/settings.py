"""Settings chosen by internal admins: the referral form, duplicates, visibility.

Each setting has a default here, so a fresh portal behaves sensibly before anyone saves one.
"""
from __future__ import annotations

from copy import deepcopy

from portal import database
from portal.errors import DomainError
from portal.extensions import db
from portal.services import audit
from portal.models import Setting
from portal.models.types import utcnow
from portal.services import read_cache

# The standard referral fields an admin can show, hide, or require.
STANDARD_FIELDS: dict[str, str] = {
    "contact_first_name": "First name",
    "contact_last_name": "Last name",
    "contact_email": "Email",
    "contact_phone": "Phone",
    "contact_title": "Job title",
    "company_name": "Company",
    "company_domain": "Company website",
    "company_country": "Country",
    "company_size": "Company size",
    "notes": "Need / notes",
    "estimated_value": "Estimated deal value",
}
# Always shown and required: a referral without them cannot be worked on (CRM matching needs the email).
ALWAYS_REQUIRED = {"contact_last_name", "company_name"}

# What referral partners may see of the lead and the deal that came from their referral.
LEAD_DEAL_FIELDS: dict[str, str] = {
    "lead_status": "Lead status",
    "lead_assigned_org": "Reseller the lead went to",
    "lead_respond_by": "Lead respond-by date",
    "owner": "Vendor owner of the referral",
    "won_amount": "Won amount",
    "lost_reason": "Reason a referral was lost",
    "deal_status": "Deal registration status",
    "deal_expected_close": "Deal's expected close date",
    "deal_amount": "Deal amount",
}

DEFAULTS: dict[str, dict] = {
    "referral_form": {
        "fields": {name: {"shown": True, "required": name in ALWAYS_REQUIRED or name == "contact_email"}
                   for name in STANDARD_FIELDS},
    },
    "duplicates": {"policy": "flag", "window_days": 90},
    "lead_deal_visibility": {"fields": ["lead_status", "won_amount", "lost_reason", "deal_status"]},
    # reminder_hours: how long before respond-by the reseller is reminded; auto_reassign: a declined or
    # expired lead goes on to the next reseller in its rule's rotation instead of back to the vendor.
    "leads": {"respond_within_days": 5, "reminder_hours": 24, "auto_reassign": False},
    # A percentage of a deal won in another currency than the plan's: "convert" (rate table) or "hold".
    "commissions": {"foreign_currency": "convert"},
    # Deal registrations: how long an approved one protects the partner, when the partner is warned,
    # and what a registration for a customer already claimed does (as for duplicate referrals).
    "deals": {"protection_days": 90, "warn_days_before": 14, "conflict_policy": "flag"},
    # Two-tier distribution: whether partners name the distributor they buy through (any, or only
    # their assigned ones; required or optional), may hide a deal from it, and whether distributors
    # register deals on behalf of partners (off, their assigned partners, or all partners).
    "distribution": {"enabled": False, "choice": "any", "required": False, "allow_hide": True,
                     "on_behalf": "assigned"},
    # Days a won referral's commission stays pending before it is payable (services/ledger.py).
    "payouts": {"holding_days": 30},
    # The partner program (issue #14): whether a prospect's confirmation mail, after a partner's
    # referral form, invites them to the program page (/partners/apply) too.
    "partner_program": {"offer_in_confirmation": False},
    # The public referral pages (/r/<code>, /refer): see services/branding.py.
    "branding": {
        "vendor_name": "", "primary_color": "#2546c8",
        "headline": "Let's talk about what you need",
        "intro": "Tell us a little about your company and what you are looking for. "
                 "Our team answers within one business day.",
        "privacy_text": "We use your details only to answer your request and keep the partner who referred you "
                        "informed. You can ask us to delete them at any time.",
        "attribution_days": 30,
    },
}
DUPLICATE_POLICIES = {"block": "Block the submission", "flag": "Flag it for review", "allow": "Allow it"}


def get(key: str) -> dict:
    """The setting `key`: the stored choices over the defaults (a copy the caller may change)."""
    return deepcopy(read_cache.cached(read_cache.SETTINGS, key, lambda: _load(key)))


def _load(key: str) -> dict:
    row = db.session.get(Setting, key)
    value = deepcopy(DEFAULTS.get(key, {}))
    if row is not None:
        _merge(value, row.value or {})
    return value


def save(key: str, value: dict) -> dict:
    """Store one setting (call within a use case that commits)."""
    if key not in DEFAULTS:
        raise DomainError(f"Unknown setting {key!r}.")
    row = db.session.get(Setting, key)
    # Two first saves at once both succeed (the later one's value stays): no get-or-create race.
    if row is None and database.insert_missing(Setting, [{"key": key, "value": value, "updated_at": utcnow()}],
                                               conflict_on=["key"]):
        read_cache.written(read_cache.SETTINGS)  # a Core insert: no flush hook saw it
        # Inserted below the ORM, so the audit trail's flush listener cannot see it: say it here.
        audit.record(db.session.get(Setting, key), "created", before={}, after={"value": value})
        return value
    row = row or db.session.get(Setting, key, populate_existing=True)
    row.value = value
    return value


def _merge(base: dict, override: dict) -> None:
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def form_fields() -> dict[str, dict]:
    """{field: {"shown": bool, "required": bool}} for the standard referral fields."""
    fields = get("referral_form")["fields"]
    for name in ALWAYS_REQUIRED:
        fields[name] = {"shown": True, "required": True}
    return fields


def update_form_fields(fields: dict[str, dict]) -> None:
    """Choose which standard fields the referral form shows and requires."""
    cleaned = {}
    for name in STANDARD_FIELDS:
        choice = fields.get(name, {})
        shown = bool(choice.get("shown")) or name in ALWAYS_REQUIRED
        cleaned[name] = {"shown": shown, "required": shown and (bool(choice.get("required")) or name in ALWAYS_REQUIRED)}
    save("referral_form", {"fields": cleaned})
    db.session.commit()


def update_duplicates(*, policy: str, window_days: int) -> None:
    """Choose what happens to a possible duplicate, and how far back to look."""
    if policy not in DUPLICATE_POLICIES:
        raise DomainError("Choose block, flag or allow.", field="policy")
    if not 1 <= window_days <= 3650:
        raise DomainError("Use a window between 1 and 3650 days.", field="window_days")
    save("duplicates", {"policy": policy, "window_days": window_days})
    db.session.commit()


def update_partner_program(*, offer_in_confirmation: bool) -> None:
    """Whether the confirmation mail of a prospect who used a partner's referral form offers the
    partner program page."""
    save("partner_program", {"offer_in_confirmation": bool(offer_in_confirmation)})
    db.session.commit()


def update_visibility(*, lead_deal_fields: list[str], respond_within_days: int) -> None:
    """What referral partners see of leads and deals, and how long resellers have to answer a lead."""
    unknown = set(lead_deal_fields) - set(LEAD_DEAL_FIELDS)
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if not 1 <= respond_within_days <= 90:
        raise DomainError("Use between 1 and 90 days.", field="respond_within_days")
    save("lead_deal_visibility", {"fields": list(lead_deal_fields)})
    save("leads", {**get("leads"), "respond_within_days": respond_within_days})
    db.session.commit()


DISTRIBUTOR_CHOICES = {"any": "Any distributor", "assigned": "Only the distributors assigned to the partner"}
ON_BEHALF_CHOICES = {"off": "No", "assigned": "For their assigned partners", "all": "For any partner"}


def update_deals(*, protection_days: int, warn_days_before: int, conflict_policy: str) -> None:
    """How long an approved registration protects the partner, the warning before it ends, the conflict policy."""
    if not 1 <= protection_days <= 730:
        raise DomainError("Use between 1 and 730 days.", field="protection_days")
    if not 0 <= warn_days_before < protection_days:
        raise DomainError("Warn between 0 days and the protection period before the end.", field="warn_days_before")
    if conflict_policy not in DUPLICATE_POLICIES:
        raise DomainError("Choose block, flag or allow.", field="conflict_policy")
    save("deals", {"protection_days": protection_days, "warn_days_before": warn_days_before,
                   "conflict_policy": conflict_policy})
    db.session.commit()


def update_distribution(*, enabled: bool, choice: str, required: bool, allow_hide: bool, on_behalf: str) -> None:
    """Switch two-tier distribution on or off, and what partners and distributors may do with it."""
    if choice not in DISTRIBUTOR_CHOICES:
        raise DomainError("Choose which distributors partners may pick.", field="choice")
    if on_behalf not in ON_BEHALF_CHOICES:
        raise DomainError("Choose for whom distributors may register deals.", field="on_behalf")
    save("distribution", {"enabled": bool(enabled), "choice": choice, "required": bool(required),
                          "allow_hide": bool(allow_hide), "on_behalf": on_behalf})
    db.session.commit()


def update_lead_handling(*, reminder_hours: int, auto_reassign: bool) -> None:
    """When resellers are reminded of an unanswered lead, and whether a returned lead goes on by itself."""
    if not 0 <= reminder_hours <= 24 * 30:
        raise DomainError("Use between 0 and 720 hours (0: no reminder).", field="reminder_hours")
    current = get("leads")
    save("leads", {**current, "reminder_hours": reminder_hours, "auto_reassign": bool(auto_reassign)})
    db.session.commit()
