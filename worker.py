"""Start an RQ worker (with RQ's scheduler for retries) inside the portal's app context.

    REDIS_URL=redis://... python worker.py [queue ...]      # default: default, mail, sync

Periodic work (the sweep, later the hourly CRM sync) comes from one `rq cron portal.jobs.cron` process.
"""
from __future__ import annotations

import sys

from portal import create_app
from portal.jobs import queues


def main(argv: list[str]) -> int:
    app = create_app()
    if not app.config.get("REDIS_URL"):
        print("worker.py needs REDIS_URL; without it the web process runs the jobs itself (embedded mode).",
              file=sys.stderr)
        return 2
    names = argv or list(queues.QUEUE_NAMES)
    worker = queues.make_worker(app, queues=names)
    worker.work(with_scheduler=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
