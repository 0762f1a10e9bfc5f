"""Fixtures shared by every test folder: the app, the database, clients that sign in.

The database is DATABASE_URL when set (CI points it at PostgreSQL), else a fresh SQLite file.
Redis is REDIS_URL when set, else the app's in-process fakeredis. Each test runs inside an
outer transaction rolled back at the end; tests whose data another process must see use
`committed_db` instead, which truncates afterwards.
"""
from __future__ import annotations

import os
import re
import threading

import pytest
import redis
from flask import has_app_context
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSession
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, make_url, text
from werkzeug.serving import make_server

from portal import config, create_app, database
from portal.jobs import queues
from portal.extensions import db as _db
from portal.extensions import limiter

# The HubSpot sandbox on a real port, a connection to it: for the sync, integrations and browser tests.
pytest_plugins = ["tests.crm_fixtures"]


def pytest_collection_modifyitems(config, items):
    """`database_server` tests need PostgreSQL: on the embedded pass they are deselected, and said so."""
    if (make_url(os.environ["DATABASE_URL"]).get_backend_name() if os.environ.get("DATABASE_URL") else "sqlite") \
            == "postgresql":
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("database_server") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
        print(f"\n{len(dropped)} database_server test(s) deselected: they need PostgreSQL (the PostgreSQL pass "
              "runs them): " + ", ".join(item.name for item in dropped))

TEST_PASSWORD = "correct-horse-battery"


class PortalClient(FlaskClient):
    """A test client that can send the CSRF token a real form would carry.

    Each request gets its own app context, as in production (else `g`, and the signed-in user
    cached there, would leak from one request into the next); afterwards the test's own session
    is expired so that what it reads next reflects what the request wrote.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if has_app_context():
            _db.session.expire_all()
        return response

    def csrf_token(self) -> str:
        with self.session_transaction() as session:
            raw = session.setdefault("csrf_token", os.urandom(20).hex())
        app = self.application
        return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token").dumps(raw)

    def submit(self, url: str, data: dict | None = None, **kwargs):
        """POST a form with its CSRF token, as a browser would."""
        return self.post(url, data={**(data or {}), "csrf_token": self.csrf_token()}, **kwargs)

    def login(self, user, password: str = TEST_PASSWORD):
        response = self.submit("/login", {"email": user.email, "password": password})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return response


def _session_database(instance) -> str:
    """SQLite in a temp folder, or on the DATABASE_URL server a database of this run's own.

    A database per run lets several runs share one PostgreSQL server without trampling each other.
    """
    url = config.database_url(os.environ.get("DATABASE_URL"))
    if not url:
        return f"sqlite:///{instance / 'test.db'}"
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url
    name = f"{parsed.database}_run{os.getpid()}"
    with create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    _CREATED_DATABASES.append((parsed, name))
    return parsed.set(database=name).render_as_string(hide_password=False)


def _session_redis() -> str | None:
    """REDIS_URL's server with a database index of this run's own (the tests empty it)."""
    url = os.environ.get("REDIS_URL")
    if not url:
        return None
    base = url.rsplit("/", 1)[0] if url.count("/") > 2 else url
    # Runs that share the server (CI and developers at once) each claim a free index for an hour.
    claims = redis.Redis.from_url(f"{base}/0")
    for offset in range(15):
        index = 1 + (os.getpid() + offset) % 15
        if claims.set(f"portal-test-db-{index}", os.getpid(), nx=True, ex=3600):
            _CLAIMED_REDIS.append((claims, index))
            return f"{base}/{index}"
    return f"{base}/{1 + os.getpid() % 15}"


_CLAIMED_REDIS: list = []


_CREATED_DATABASES: list = []


def _drop_session_databases() -> None:
    for parsed, name in _CREATED_DATABASES:
        with create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _test_config(tmp_path_factory) -> dict:
    instance = tmp_path_factory.mktemp("instance")
    redis_url = _session_redis()
    return {
        "TESTING": True,
        "PORTAL_ENV": "test",
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": _session_database(instance),
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "SANDBOX_DATABASE_URL": f"sqlite:///{instance / 'crm_sandbox.db'}",
        # Hashing cost is not under test; a cheap method keeps the suite fast.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "PUBLIC_BASE_URL": "http://portal.test",
        "SMTP_URL": None,
        "EMBEDDED_WORKER": False,
        "SERVER_NAME": None,
    }


# Flask-Limiter keeps one storage per Limiter, the last `init_app`'s: a test that builds an app of
# its own re-points the shared limiter (at REDIS_URL's database 0, which every worker of a run
# shares), and then one worker's reset emptied another's counts in the middle of a rate-limit test.
# The session's app takes its storage back before every test that counts limits.
_SESSION_LIMITS: dict = {}


def _fresh_limits() -> None:
    limiter._storage, limiter._limiter = _SESSION_LIMITS["storage"], _SESSION_LIMITS["strategy"]
    limiter.reset()


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    app = create_app(_test_config(tmp_path_factory))
    _SESSION_LIMITS.update(storage=limiter._storage, strategy=limiter._limiter)
    app.test_client_class = PortalClient
    with app.app_context():
        _reset_schema()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()
    _drop_session_databases()
    for claims, index in _CLAIMED_REDIS:
        claims.delete(f"portal-test-db-{index}")


def _reset_schema() -> None:
    """Drop whatever is there and build the schema from the models.

    That the migrations build the same schema is checked by tests/integration/test_migrations.py.
    """
    _db.drop_all()
    with _db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    _db.create_all()


class _BoundSession(FlaskSession):
    """Flask-SQLAlchemy picks an engine itself; in tests every session uses the test's connection."""

    def get_bind(self, *args, **kwargs):
        return self.bind if self.bind is not None else super().get_bind(*args, **kwargs)


@pytest.fixture
def db(app):
    """A database whose changes vanish after the test, though services commit freely."""
    with app.app_context():
        connection = _db.engine.connect()
        # One connection serves the test and its requests: on SQLite it is the writer from the start.
        with database.writing():
            outer = connection.begin()
        original = _db.session
        _db.session = _db._make_scoped_session(
            {"class_": _BoundSession, "bind": connection, "join_transaction_mode": "create_savepoint"})
        try:
            yield _db
        finally:
            _db.session.remove()
            _db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def committed_db(app):
    """A database that other processes and threads can see: rows are committed, then truncated."""
    with app.app_context():
        _truncate()
        try:
            yield _db
        finally:
            _db.session.remove()
            _truncate()


def _truncate() -> None:
    tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def redis_conn(app):
    """The job queue's Redis (real when REDIS_URL is set), emptied before and after the test."""
    conn = queues.connection(app)
    conn.flushdb()
    yield conn
    conn.flushdb()


@pytest.fixture
def client(app, redis_conn):
    _fresh_limits()
    return app.test_client()


@pytest.fixture
def run_jobs(app, redis_conn):
    """Run every queued job now, in this thread, through a real RQ worker."""

    def run() -> bool:
        return queues.run_burst(app)

    return run


@pytest.fixture
def live_server(app, committed_db, redis_conn, monkeypatch):
    """The portal served over real HTTP on a free port, for the browser and for other processes."""
    _fresh_limits()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", f"http://127.0.0.1:{server.port}")
    try:
        yield app.config["PUBLIC_BASE_URL"]
    finally:
        server.shutdown()
        thread.join(5)


def extract_link(text_body: str, path_fragment: str) -> str:
    match = re.search(r"https?://\S*" + re.escape(path_fragment) + r"\S*", text_body)
    assert match, f"no link containing {path_fragment!r} in:\n{text_body}"
    return match.group(0)


def routes_of(app, blueprint: str) -> list[tuple[str, str]]:
    """(method, path) of every route of `blueprint`, with 1 for each path argument."""
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(f"{blueprint}."):
            path = re.sub(r"<(?:[^:>]+:)?[^>]+>", "1", rule.rule)
            urls += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return urls


@pytest.fixture(autouse=True)
def _no_remembered_describes():
    """Each test's Salesforce org has the schema the test gave it, not one remembered from another test."""
    from portal.sync.connectors.salesforce import connector
    connector.forget_describes()


@pytest.fixture
def clock():
    """The portal's clock, to move instead of sleeping (portal/clock.py); put back after the test."""
    from portal import clock as portal_clock
    portal_clock.reset()
    yield portal_clock
    portal_clock.reset()


@pytest.fixture(autouse=True)
def _fresh_read_cache():
    """Each test's database is new: a stamp it has not written yet ("") says nothing about what another
    test's database cached under the same empty stamp (a running portal keeps one database)."""
    from portal.services import read_cache
    read_cache.clear()
