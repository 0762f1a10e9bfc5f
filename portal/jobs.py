"""RQ entry points: thin, take ids, safe to run twice (STYLE.md §6).

The worker runs each job inside an app context (portal.queues.AppWorker).
"""
from __future__ import annotations

import logging

from portal import mail
from portal.services import sweep as sweep_service

log = logging.getLogger(__name__)


def send_email(message_id: int) -> None:
    """Deliver one queued EmailMessage; a second run finds it sent and does nothing."""
    mail.deliver(message_id)


def sweep() -> dict[str, int]:
    """Re-enqueue whatever the database says is still pending."""
    return sweep_service.run()
