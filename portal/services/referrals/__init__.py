"""Referrals: submit (partner, public link), review (internal), and the queries behind the pages.

The `apply_*` functions are the non-committing cores of the review use cases, for other use cases
(the closed loop from deal registrations, payouts, CRM changes) to compose in one transaction.
"""
from portal.services.referrals.queries import (ReferralFilters, count_by_stage, list_for_user, review_queue,
                                               timeline)
from portal.services.referrals.review import (accept, apply_accept, apply_commission_paid, apply_lost, apply_reject,
                                              apply_route_to_reseller, apply_status, apply_won, bulk_accept,
                                              bulk_reject, bulk_route, mark_commission_paid, mark_lost, mark_won, reject,
                                              route_to_reseller, set_status)
from portal.services.referrals.submit import ReferralInput, SubmitResult, duplicate_candidates, submit

__all__ = [
    "ReferralFilters", "ReferralInput", "SubmitResult", "accept", "apply_accept", "apply_commission_paid",
    "apply_lost", "apply_reject", "apply_route_to_reseller", "apply_status", "apply_won", "bulk_accept",
    "bulk_reject", "bulk_route", "count_by_stage", "duplicate_candidates", "list_for_user", "mark_commission_paid", "mark_lost",
    "mark_won", "reject", "review_queue", "route_to_reseller", "set_status", "submit", "timeline",
]
