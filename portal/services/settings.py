"""Settings chosen by internal admins: the referral form, duplicates, visibility.

Each setting has a default here, so a fresh portal behaves sensibly before anyone saves one.
"""
from __future__ import annotations

from copy import deepcopy

from portal.errors import DomainError
from portal.extensions import db
from portal.models import Setting

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
}

DEFAULTS: dict[str, dict] = {
    "referral_form": {
        "fields": {name: {"shown": True, "required": name in ALWAYS_REQUIRED or name == "contact_email"}
                   for name in STANDARD_FIELDS},
    },
    "duplicates": {"policy": "flag", "window_days": 90},
    "lead_deal_visibility": {"fields": ["lead_status", "won_amount", "lost_reason"]},
    "leads": {"respond_within_days": 5},
    # A percentage of a deal won in another currency than the plan's: "convert" (rate table) or "hold".
    "commissions": {"foreign_currency": "convert"},
    # The public referral pages (/r/<code>, /refer): see services/branding.py.
    "branding": {
        "vendor_name": "", "logo_url": "", "primary_color": "#2546c8",
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
    if row is None:
        row = Setting(key=key, value=value)
        db.session.add(row)
    else:
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


def update_visibility(*, lead_deal_fields: list[str], respond_within_days: int) -> None:
    """What referral partners see of leads and deals, and how long resellers have to answer a lead."""
    unknown = set(lead_deal_fields) - set(LEAD_DEAL_FIELDS)
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if not 1 <= respond_within_days <= 90:
        raise DomainError("Use between 1 and 90 days.", field="respond_within_days")
    save("lead_deal_visibility", {"fields": list(lead_deal_fields)})
    save("leads", {"respond_within_days": respond_within_days})
    db.session.commit()
