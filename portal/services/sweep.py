"""The periodic sweep: re-drive work the database says is pending (DESIGN.md §2).

Jobs can be lost (Redis restarted, a worker killed mid-job); outbox rows cannot. Enqueues are
coalesced by job id, so sweeping work that is already queued or being retried is harmless.
"""
from __future__ import annotations

import logging

from portal.jobs import mail
from portal.services import crm, deals, lead_distribution, ledger, links, one_time, submissions
from portal.services.reporting import exports

log = logging.getLogger(__name__)


def run() -> dict[str, int]:
    """Enqueue delivery of every message still queued and the announcement of every prospect's referral
    whose job was lost, remind resellers of leads about to lapse, expire
    overdue leads (sending them back or on) and deal registrations (warning first); returns the counts."""
    requeued = 0
    for message_id in mail.pending_ids():
        mail.schedule_delivery(message_id, after_commit=False)
        requeued += 1
    announced = links.redrive_announcements()
    reminded = lead_distribution.send_reminders()
    expired = lead_distribution.expire_overdue()
    registrations = deals.sweep_expiry()
    pushes = crm.redrive()
    crm.redrive_dry_runs()
    submissions.purge_old()
    one_time.purge_expired()
    exports.purge_expired()
    approved = ledger.approve_due()
    notices = crm.report_health()
    if requeued or announced or expired or pushes or reminded or approved or any(registrations.values()):
        log.info("sweep re-drove %s queued messages, %s announcements, %s CRM pushes, expired %s leads, "
                 "reminded %s, deals %s, approved %s commissions", requeued, announced, pushes, expired, reminded,
                 registrations, approved)
    return {"mail": requeued, "announcements": announced, "leads_expired": expired, "leads_reminded": reminded,
            "crm_pushes": pushes, "commissions_approved": approved, "crm_notices": notices, **registrations}
