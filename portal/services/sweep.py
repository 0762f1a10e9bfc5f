"""The periodic sweep: re-drive work the database says is pending (DESIGN.md §2).

Jobs can be lost (Redis restarted, a worker killed mid-job); outbox rows cannot. Enqueues are
coalesced by job id, so sweeping work that is already queued or being retried is harmless.
"""
from __future__ import annotations

import logging

from portal import mail

log = logging.getLogger(__name__)


def run() -> dict[str, int]:
    """Enqueue delivery of every message still queued; returns how many were (re)enqueued."""
    requeued = 0
    for message_id in mail.pending_ids():
        mail.schedule_delivery(message_id, after_commit=False)
        requeued += 1
    if requeued:
        log.info("sweep re-drove %s queued messages", requeued)
    return {"mail": requeued}
