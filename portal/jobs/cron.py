"""Periodic work, for RQ's own scheduler: `rq cron portal.jobs.cron --url $REDIS_URL` (one per deployment).

The embedded mode builds the same schedule with build_scheduler() and runs it in its worker thread.
"""
from __future__ import annotations

import os

from rq import cron
from rq.cron import CronScheduler

from portal.jobs import tasks

SWEEP_SECONDS = 60
# `rq cron portal.jobs.cron` imports this module without an app, so it reads the variable itself (README).
CRM_FULL_SYNC_SECONDS = int(os.environ.get("CRM_SYNC_INTERVAL", "3600"))
CRM_PULL_SECONDS = int(os.environ.get("CRM_PULL_INTERVAL", "60"))

SCHEDULE = [
    dict(func=tasks.sweep, queue_name="default", interval=SWEEP_SECONDS),
    dict(func=tasks.crm_full_sync_all, queue_name="sync", interval=CRM_FULL_SYNC_SECONDS),
    dict(func=tasks.crm_pull_all, queue_name="sync", interval=CRM_PULL_SECONDS),
]

for entry in SCHEDULE:
    cron.register(**entry)


def build_scheduler(connection) -> CronScheduler:
    scheduler = CronScheduler(connection=connection)
    for entry in SCHEDULE:
        scheduler.register(**entry)
    return scheduler
