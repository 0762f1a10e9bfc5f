"""Configuration: embedded defaults, and what production insists on."""
from __future__ import annotations

import pytest

from portal import config


def test_embedded_defaults(monkeypatch, tmp_path):
    for name in ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "SECRET_KEY", "SANDBOX_CRMS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORTAL_ENV", "development")
    settings = config.load({"INSTANCE_PATH": str(tmp_path)})
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'portal.db'}"
    assert settings["REDIS_URL"] is None and settings["SMTP_URL"] is None
    assert settings["SANDBOX_CRMS"] is True and settings["RATELIMIT_STORAGE_URI"] == "memory://"
    # the generated development secret is kept for the next start
    assert config.load({"INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"] == settings["SECRET_KEY"]


def test_production_requires_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError):
        config.load({"PORTAL_ENV": "production", "INSTANCE_PATH": str(tmp_path)})


def test_production_never_serves_the_sandboxes_and_limits_through_redis(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "s" * 32)
    monkeypatch.setenv("SANDBOX_CRMS", "1")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/1")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://portal@db/portal")
    settings = config.load({"PORTAL_ENV": "production", "INSTANCE_PATH": str(tmp_path)})
    assert settings["SANDBOX_CRMS"] is False
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/1"
    assert settings["SESSION_COOKIE_SECURE"] is True and settings["REMEMBER_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_HTTPONLY"] is True and settings["DEV_MAIL_PAGE"] is False


@pytest.mark.parametrize("env", [None, "", "prod", "Develop", "staging"])
def test_an_unset_or_unknown_environment_gets_no_development_pages(monkeypatch, tmp_path, env):
    monkeypatch.delenv("PORTAL_ENV", raising=False)
    monkeypatch.setenv("SANDBOX_CRMS", "1")
    if env is not None:
        monkeypatch.setenv("PORTAL_ENV", env)
    settings = config.load({"INSTANCE_PATH": str(tmp_path)})
    assert settings["DEV_MAIL_PAGE"] is False and settings["SANDBOX_CRMS"] is False


@pytest.mark.parametrize("env", ["development", "test"])
def test_development_and_test_have_the_development_pages(monkeypatch, tmp_path, env):
    monkeypatch.delenv("SANDBOX_CRMS", raising=False)
    monkeypatch.setenv("PORTAL_ENV", env)
    settings = config.load({"INSTANCE_PATH": str(tmp_path)})
    assert settings["DEV_MAIL_PAGE"] is True and settings["SANDBOX_CRMS"] is True
    assert settings["HSTS_MAX_AGE"] == 0


def _production(monkeypatch, **env):
    for name in ("DATABASE_URL", "REDIS_URL", "RATELIMIT_STORAGE_URI", "ALLOW_SQLITE_IN_PRODUCTION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "s" * 32)
    monkeypatch.setenv("PORTAL_ENV", "production")
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_production_refuses_sqlite_unless_explicitly_allowed(monkeypatch, tmp_path):
    _production(monkeypatch, REDIS_URL="redis://cache:6379/1")
    with pytest.raises(RuntimeError, match="SQLite"):
        config.load({"INSTANCE_PATH": str(tmp_path)})
    monkeypatch.setenv("ALLOW_SQLITE_IN_PRODUCTION", "1")
    assert config.load({"INSTANCE_PATH": str(tmp_path)})["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")


def test_production_refuses_per_process_rate_limits(monkeypatch, tmp_path):
    _production(monkeypatch, DATABASE_URL="postgresql+psycopg://portal@db/portal")
    with pytest.raises(RuntimeError, match="rate limits"):
        config.load({"INSTANCE_PATH": str(tmp_path)})
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://limits:6379/2")
    settings = config.load({"INSTANCE_PATH": str(tmp_path)})
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://limits:6379/2"
    assert settings["HSTS_MAX_AGE"] == 365 * 24 * 3600


@pytest.mark.parametrize("given", ["postgres://portal@db/portal", "postgresql://portal@db/portal",
                                   "postgresql+psycopg://portal@db/portal"])
def test_a_platforms_postgres_url_means_the_installed_psycopg_driver(monkeypatch, tmp_path, given):
    monkeypatch.setenv("DATABASE_URL", given)
    settings = config.load({"PORTAL_ENV": "development", "INSTANCE_PATH": str(tmp_path)})
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://portal@db/portal"
