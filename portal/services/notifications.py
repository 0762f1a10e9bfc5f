"""The email notifications a user can switch off on their profile (security mail is never optional)."""
from __future__ import annotations

NOTIFICATION_EVENTS: dict[str, str] = {
    "referral_submitted": "A new referral is submitted",
    "referral_accepted": "A referral is accepted",
    "referral_rejected": "A referral is rejected",
    "referral_won": "A referral is won",
    "commission_paid": "A commission is paid",
    "lead_assigned": "A lead is assigned to my organization",
    "deal_approved": "A deal registration is approved",
}
