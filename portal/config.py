"""Settings from the environment, with the embedded defaults (DESIGN.md §7).

Every variable read here is listed in the README's configuration table.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _instance_secret(instance: Path) -> str:
    """A development secret generated once and kept in instance/, so sessions survive restarts."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


# Environments where the development conveniences (/dev/mail, the CRM sandboxes) exist. Anything
# else, an unset or misspelled PORTAL_ENV included, gets none of them: a forgotten variable fails closed.
DEVELOPMENT_ENVS = ("development", "test")


def database_url(url: str | None) -> str | None:
    """DATABASE_URL as SQLAlchemy takes it: the `postgres://` and bare `postgresql://` URLs that
    hosting platforms hand out mean the psycopg (3) driver the portal installs, not psycopg2."""
    if not url:
        return None
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load(overrides: dict | None = None) -> dict:
    """Build the Flask config mapping for the environment named by PORTAL_ENV.

    Raises RuntimeError when PORTAL_ENV=production lacks what production needs (see `_check_production`).
    """
    overrides = dict(overrides or {})
    env = (overrides.get("PORTAL_ENV") or os.environ.get("PORTAL_ENV") or "").strip().lower()
    production = env == "production"
    development = env in DEVELOPMENT_ENVS
    instance = Path(overrides.get("INSTANCE_PATH") or os.environ.get("INSTANCE_PATH") or DEFAULT_INSTANCE)

    secret = os.environ.get("SECRET_KEY")
    if not secret and not production:
        secret = _instance_secret(instance)

    redis_url = os.environ.get("REDIS_URL") or None
    config = {
        "PORTAL_ENV": env,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url(os.environ.get("DATABASE_URL")) or f"sqlite:///{instance / 'portal.db'}",
        # Last in, first out: the next request gets the connection used last, whose statements
        # PostgreSQL has prepared already (database._commit_reads), and spare ones can idle out.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_use_lifo": True},
        "REDIS_URL": redis_url,
        # Without a Redis the same RQ jobs run on an in-process fakeredis with a worker thread.
        "EMBEDDED_WORKER": _flag("EMBEDDED_WORKER", True),
        "SMTP_URL": os.environ.get("SMTP_URL") or None,
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Referral Portal <no-reply@portal.local>"),
        "MAIL_MAX_ATTEMPTS": int(os.environ.get("MAIL_MAX_ATTEMPTS", "5")),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "SANDBOX_CRMS": development and _flag("SANDBOX_CRMS", True),
        # Fernet key for the CRM tokens stored in the database; unset: derived from SECRET_KEY.
        "CRM_ENCRYPTION_KEY": os.environ.get("CRM_ENCRYPTION_KEY") or None,
        # Fernet key for the partners' payee details (bank account, PayPal, tax id); unset: derived from SECRET_KEY.
        "PAYEE_ENCRYPTION_KEY": os.environ.get("PAYEE_ENCRYPTION_KEY") or None,
        # Report exports: up to this many rows stream at once; more run in the worker, whose file
        # (under EXPORT_FOLDER, default instance/exports, shared by web and worker hosts) lives this long.
        "EXPORT_INLINE_ROWS": int(os.environ.get("EXPORT_INLINE_ROWS", "5000")),
        "EXPORT_LINK_SECONDS": int(os.environ.get("EXPORT_LINK_SECONDS", "86400")),
        "EXPORT_FOLDER": os.environ.get("EXPORT_FOLDER") or None,
        # Seconds between two full syncs of every active CRM connection (read by portal.cron too).
        "CRM_SYNC_INTERVAL": int(os.environ.get("CRM_SYNC_INTERVAL", "3600")),
        "DEV_MAIL_PAGE": development,
        # Request bodies above this many bytes are refused with 413 (a route may allow more:
        # portal.web.request_limits.allow_body).
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", str(1024 * 1024))),
        # Proxies in front of the portal that set X-Forwarded-For/-Proto/-Host (0: none, trust no header).
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        "HSTS_MAX_AGE": int(os.environ.get("HSTS_MAX_AGE", str(365 * 24 * 3600))) if production else 0,
        "ALLOW_SQLITE_IN_PRODUCTION": _flag("ALLOW_SQLITE_IN_PRODUCTION", False),
        "PASSWORD_HASH_METHOD": os.environ.get("PASSWORD_HASH_METHOD", "scrypt"),
        "PASSWORD_RESET_MAX_AGE": int(os.environ.get("PASSWORD_RESET_MAX_AGE", "3600")),
        "INVITATION_MAX_AGE": int(os.environ.get("INVITATION_MAX_AGE", str(7 * 24 * 3600))),
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per 15 minutes"),
        # Webhook posts whose signature fails, per client address (valid deliveries are not counted).
        "WEBHOOK_FAILURE_RATE_LIMIT": os.environ.get("WEBHOOK_FAILURE_RATE_LIMIT", "20 per minute"),
        # Roles that must sign in with a second factor (enrolment at the next sign-in). Development
        # and test require none by default, so the demo's users and the tests sign in with a password;
        # every other environment, an unknown one included, requires it of admins and managers.
        "MFA_REQUIRED_ROLES": os.environ.get("MFA_REQUIRED_ROLES", "" if development else "admin,manager"),
        # Seconds between the password step and the code step before the sign-in starts over.
        "MFA_PENDING_MAX_AGE": int(os.environ.get("MFA_PENDING_MAX_AGE", "300")),
        # The public referral form (/r/<code>, its embed, /refer): posts per address, and per link.
        "PUBLIC_FORM_RATE_LIMIT": os.environ.get("PUBLIC_FORM_RATE_LIMIT", "20 per minute;100 per hour"),
        "PUBLIC_LINK_RATE_LIMIT": os.environ.get("PUBLIC_LINK_RATE_LIMIT", "60 per minute;600 per hour"),
        # A form sent sooner than this after it was served is a bot's; older than the maximum is stale.
        "PUBLIC_FORM_MIN_SECONDS": float(os.environ.get("PUBLIC_FORM_MIN_SECONDS", "3")),
        "PUBLIC_FORM_MAX_AGE": int(os.environ.get("PUBLIC_FORM_MAX_AGE", str(12 * 3600))),
        # Who may frame /r/<code>/embed (a CSP frame-ancestors source list); every other page: nobody.
        "PUBLIC_EMBED_FRAME_ANCESTORS": os.environ.get("PUBLIC_EMBED_FRAME_ANCESTORS", "*"),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI") or redis_url or "memory://",
        "RATELIMIT_ENABLED": _flag("RATELIMIT_ENABLED", True),
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_STRATEGY": "moving-window",
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": int(os.environ.get("REMEMBER_COOKIE_DURATION", str(14 * 24 * 3600))),
        # Server-side session lifetimes (seconds): idle and absolute; "keep me signed in" sessions
        # last up to REMEMBER_COOKIE_DURATION and may stay idle for REMEMBER_IDLE_TIMEOUT.
        "SESSION_IDLE_TIMEOUT": int(os.environ.get("SESSION_IDLE_TIMEOUT", str(2 * 3600))),
        "SESSION_ABSOLUTE_TIMEOUT": int(os.environ.get("SESSION_ABSOLUTE_TIMEOUT", str(12 * 3600))),
        "REMEMBER_IDLE_TIMEOUT": int(os.environ.get("REMEMBER_IDLE_TIMEOUT", str(7 * 24 * 3600))),
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "ORGS_PER_PAGE": 20,
    }
    config.update(overrides)
    if not config["SECRET_KEY"]:
        raise RuntimeError("SECRET_KEY must be set in production")
    if production:
        _check_production(config)
    return config


def _check_production(config: dict) -> None:
    """Refuse to start a production that would quietly be less safe than it looks."""
    problems = []
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") and not config["ALLOW_SQLITE_IN_PRODUCTION"]:
        problems.append("DATABASE_URL is SQLite: set a PostgreSQL URL (or ALLOW_SQLITE_IN_PRODUCTION=1 "
                        "for a single-process deployment)")
    if config["RATELIMIT_STORAGE_URI"].startswith("memory"):
        problems.append("rate limits would be counted per process: set REDIS_URL or RATELIMIT_STORAGE_URI")
    if problems:
        raise RuntimeError("PORTAL_ENV=production refuses to start: " + "; ".join(problems) + ".")
