"""gunicorn settings file for the benchmark (`-c bench/gunicorn_hooks.py`): only a readiness signal.

gunicorn answers as soon as one worker has loaded the app; the other may still be importing it and
would make the first measured seconds slow. portal_load.py waits for this line from every worker.
"""

READY = "bench: worker ready"


def post_worker_init(worker):
    worker.log.info("%s (pid %s)", READY, worker.pid)
