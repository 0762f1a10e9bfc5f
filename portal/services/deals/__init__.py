"""Deal registrations: register (partner, lead, distributor), review (internal), outcomes, extensions, queries."""
from portal.services.deals.queries import (DealFilters, count_by_status, extension_requests, for_lead, for_referral,
                                           list_for_user, review_queue, timeline)
from portal.services.deals.register import (BLOCKED_MESSAGE, Conflicts, DealInput, conflicts, distributor_choices,
                                            input_from_lead, on_behalf_partners, register)
from portal.services.deals.review import (approve, bulk, grant_extension, mark_commission_paid, mark_lost, mark_won,
                                          pre_approve, refuse_extension, reject, request_extension, sweep_expiry)
from portal.services.deals.imports import ImportFilters, import_records, search as search_crm
from portal.services.deals.imports import search_options as crm_search_options
from portal.services.deals.workflow import BADGES, can_move, labels

__all__ = [
    "BADGES", "BLOCKED_MESSAGE", "Conflicts", "DealFilters", "DealInput", "ImportFilters", "crm_search_options",
    "import_records", "search_crm", "approve", "bulk", "can_move", "conflicts",
    "count_by_status", "distributor_choices", "extension_requests", "for_lead", "for_referral", "grant_extension",
    "input_from_lead", "labels", "list_for_user", "mark_commission_paid", "mark_lost", "mark_won",
    "on_behalf_partners", "pre_approve", "refuse_extension", "register", "reject", "request_extension",
    "review_queue", "sweep_expiry", "timeline",
]
