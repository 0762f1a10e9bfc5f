"""Where the CRM request budget is counted: the app's Redis (the embedded mode's in-process
fakeredis included), through the `limits` package's moving window, so that every worker process
and thread shares one budget per CRM account."""
from __future__ import annotations

from flask import current_app
from limits.storage import RedisStorage, Storage

from portal.jobs import queues


def shared_storage() -> Storage:
    """The app's budget storage, built on first use from the job queue's Redis connection."""
    app = current_app._get_current_object()
    storage = app.extensions.get("portal_crm_budget")
    if storage is None:
        pool = queues.connection(app).connection_pool
        storage = app.extensions["portal_crm_budget"] = RedisStorage("redis://", connection_pool=pool)
    return storage
