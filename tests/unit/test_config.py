"""Configuration: embedded defaults, and what production insists on."""
from __future__ import annotations

import pytest

from portal import config


def test_embedded_defaults(monkeypatch, tmp_path):
    for name in ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "SECRET_KEY", "SANDBOX_CRMS"):
        monkeypatch.delenv(name, raising=False)
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
    settings = config.load({"PORTAL_ENV": "production", "INSTANCE_PATH": str(tmp_path)})
    assert settings["SANDBOX_CRMS"] is False
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/1"
    assert settings["SESSION_COOKIE_SECURE"] is True and settings["REMEMBER_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_HTTPONLY"] is True and settings["DEV_MAIL_PAGE"] is False
