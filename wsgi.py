"""WSGI entry point: `gunicorn wsgi:app` in production, `make run` in development."""
from portal import create_app, start_background_worker

app = create_app()
# Embedded mode only (no REDIS_URL): jobs run in a thread of this process.
start_background_worker(app)
