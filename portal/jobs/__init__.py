"""The job layer: queues (enqueue after commit, the embedded worker), tasks (the RQ entry points),
cron (the periodic schedule), mail (the outbox and SMTP delivery) and locks (serialising writers).

Nothing is imported here: services import `portal.jobs.queues` and `portal.jobs.mail`, while
`portal.jobs.tasks` imports services, so a re-export would close a cycle."""
