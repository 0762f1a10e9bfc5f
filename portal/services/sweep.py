"""The periodic sweep: re-drive work the database says is pending (DESIGN.md §2).

Jobs can be lost (Redis restarted, a worker killed mid-job); outbox rows cannot. Enqueues are
coalesced by job id, so sweeping work that is already queued or being retried is harmless.
"""
from __future__ import annotations

import logging

from portal.jobs import mail
from portal.services import crm, leads

log = logging.getLogger(__name__)


def run() -> dict[str, int]:
    """Enqueue delivery of every message still queued and expire overdue leads; returns the counts."""
    requeued = 0
    for message_id in mail.pending_ids():
        mail.schedule_delivery(message_id, after_commit=False)
        requeued += 1
    expired = leads.expire_overdue()
    pushes = crm.redrive()
    if requeued or expired or pushes:
        log.info("sweep re-drove %s queued messages, %s CRM pushes, expired %s leads", requeued, pushes, expired)
    return {"mail": requeued, "leads_expired": expired, "crm_pushes": pushes}
