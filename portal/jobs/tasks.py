"""RQ entry points: thin, take ids, safe to run twice (STYLE.md §6).

The worker runs each job inside an app context (portal.jobs.queues.AppWorker).
"""
from __future__ import annotations

import logging

from portal.jobs import mail
from portal.models import CrmConnection
from portal.extensions import db
from portal.services import crm, links
from portal.services.reporting import exports
from portal.services import sweep as sweep_service
from portal.sync import dry_run, engine, entity_organizations, initial

log = logging.getLogger(__name__)


def send_email(message_id: int) -> None:
    """Deliver one queued EmailMessage; a second run finds it sent and does nothing."""
    mail.deliver(message_id)


def announce_link_referral(referral_id: int) -> bool:
    """Tell everyone of a prospect's referral; a second run finds it told and does nothing."""
    return links.announce(referral_id)


def sweep() -> dict[str, int]:
    """Re-enqueue whatever the database says is still pending."""
    return sweep_service.run()


def crm_push(connection_id: int) -> dict:
    """Push the connection's dirty records in batches; a retryable CRM failure re-raises (RQ retries).
    Either way the admins hear once when the connection keeps failing, and once when it recovers."""
    try:
        stats = engine.push(connection_id)
    finally:
        crm.report_health()
    log.info("crm-push:%s pushed=%s created=%s errors=%s calls=%s", connection_id, stats.pushed, stats.created,
             stats.errors, stats.calls)
    return stats.__dict__


def crm_pull(connection_id: int) -> dict:
    """Apply the CRM's changes since the connection's watermark."""
    stats = engine.pull(connection_id)
    log.info("crm-pull:%s seen=%s status_changes=%s errors=%s", connection_id, stats.seen, stats.status_changes,
             stats.errors)
    return stats.__dict__


def crm_full_sync(connection_id: int) -> dict:
    """The full sync of one connection: link everything, pull, push what changed."""
    return engine.full_sync(connection_id).__dict__


def initial_sync(connection_id: int) -> dict:
    """Organization sync's first run, started by the matching wizard (`crm.org_sync.start_initial_sync`):
    pull the flagged Accounts, push the organizations and users; a second run creates nothing."""
    return initial.initial_sync(connection_id, entity_organizations.NAMES).__dict__


def crm_dry_run(dry_run_id: int) -> dict:
    """What the connection's sync would do, computed with read calls only (a finished run is left alone)."""
    found = dry_run.run(dry_run_id)
    log.info("crm-dry-run:%s status=%s calls=%s", dry_run_id, found and found.status, found and found.calls)
    return dict((found.counts or {}) if found else {})


def crm_full_sync_all() -> int:
    """Hourly: one full sync per active connection (coalesced by job id)."""
    connections = list(db.session.scalars(db.select(CrmConnection).where(CrmConnection.active.is_(True))))
    for connection in connections:
        crm.start_full_sync(connection)
    return len(connections)


def crm_pull_all() -> int:
    """Every minute: one pull per active connection (coalesced by job id), so changes made in the CRM
    (a Lead converted, an Opportunity won) come back without waiting for the hourly full sync."""
    ids = list(db.session.scalars(db.select(CrmConnection.id).where(CrmConnection.active.is_(True))))
    for connection_id in ids:
        crm.schedule_pull(connection_id)
    return len(ids)


def run_export(export_id: int) -> None:
    """Write a large report export's file; a finished export is left alone."""
    exports.run(export_id)
