"""Configuration: safe defaults in code, then the environment, then the caller's mapping.

Production (``APP_ENV=production``, the default) refuses to start without real secrets; local runs
(``make run``) set ``APP_ENV=development`` in ``var/local.env`` together with generated secrets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from agent_runtime.contract import MIN_SECRET_CHARS, Limits, secret_weakness

from .errors import ConfigError

DEV_SIGNING_SECRET = "dev-only-insecure-agent-signing-secret-change-me"
DEV_SECRET_KEY = "dev-only-insecure-flask-secret-key-change-me-now"

DEFAULTS: dict[str, Any] = {
    "APP_ENV": "production",
    "SECRET_KEY": None,
    "DATABASE_URL": "sqlite:///var/playbook.db",
    "AGENT_SIGNING_SECRET": None,
    "AGENT_TOKEN_TTL_SECONDS": 8 * 3600,
    "AGENT_TYPES": "copilot",
    # The web app's log level (``python -m webapp`` also gives it to gunicorn).
    "LOG_LEVEL": "INFO",
    "AGENT_TRANSPORT": "http",
    "RUNTIME_URL": "http://127.0.0.1:8080",
    "RUNTIME_URLS": "",
    "AGENTCORE_RUNTIME_ARN": "",
    "AGENTCORE_QUALIFIER": "DEFAULT",
    "AGENTCORE_ENDPOINT_URL": "",
    "AWS_REGION": "us-east-1",
    "RUNTIME_CONNECT_TIMEOUT": 5.0,
    # Longer than the runtime's longest silence (a heartbeat comment every 15 s).
    "RUNTIME_READ_TIMEOUT": 60.0,
    "RUNTIME_MAX_CONNECTIONS": 2000,
    # Idle keep-alive connections kept per runtime (a burst of streams reuses them instead of
    # opening a TCP connection each).
    "RUNTIME_IDLE_CONNECTIONS": 64,
    "CHAT_LEASE_SECONDS": 120,
    "DISCONNECT_POLL_SECONDS": 0.25,
    "ALLOWED_ORIGINS": "",
    "TRUSTED_PROXIES": 0,
    "COOKIE_SECURE": "auto",
    "SQIDS_ALPHABET": "",
    "SQIDS_MIN_LENGTH": 8,
    "PASSWORD_HASH_METHOD": "scrypt",
    "ATTACHMENT_STORE": "var/attachments",
    "ATTACH_MAX_FILES": Limits.MAX_FILES,
    "ATTACH_MAX_FILE_BYTES": Limits.MAX_FILE_BYTES,
    "ATTACH_MAX_TURN_BYTES": Limits.MAX_TURN_FILE_BYTES,
    # Approvals (issue 13): desks, SLA, escalation, notifications.
    "APPROVAL_DEFAULT_DESK": "ops-leads",
    "APPROVAL_DESKS": "",
    "APPROVAL_SLA_SECONDS": 900.0,
    "APPROVAL_ESCALATION_DESK": "",
    "APPROVAL_WORKER_SECONDS": 2.0,
    "SMTP_URL": "",
    "NOTIFY_FROM": "playbook-builder@localhost",
    "APPROVAL_SNS_TOPIC_ARN": "",
    "APPROVAL_WEBHOOK_URL": "",
    "PUBLIC_URL": "",
    "DB_POOL_SIZE": 10,
    "DB_MAX_OVERFLOW": 40,
    # Seconds a request waits for a pooled connection before it is answered 503.
    "DB_POOL_TIMEOUT": 10.0,
    # SQLite: how long a writer queues for the write lock before the request is answered 503.
    "DB_BUSY_TIMEOUT_MS": 10000,
    # Refused sign-ins allowed (Flask-Limiter notation, ";" between limits); then 429.
    "LOGIN_LIMIT_PER_ACCOUNT": "5 per minute;20 per hour",
    "LOGIN_LIMIT_PER_ADDRESS": "20 per minute;100 per hour",
    # "Remember me" lasts this many days (or until sign-out or a password change).
    "LOGIN_REMEMBER_DAYS": 14,
    # Strict-Transport-Security max-age sent in production (0: none).
    "HSTS_SECONDS": 31536000,
    # Flask / extensions
    "MAX_CONTENT_LENGTH": Limits.MAX_SAVE_BYTES + 16 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "pb_session",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_NAME": "pb_remember",
    "WTF_CSRF_TIME_LIMIT": None,  # valid for the login session; the builder page lives for hours
    "WTF_CSRF_HEADERS": ["X-CSRFToken", "X-CSRF-Token"],
    "JSON_SORT_KEYS": False,
}

_ENV_KEYS = [k for k in DEFAULTS if not k.startswith(("SESSION_", "REMEMBER_", "WTF_", "JSON_", "MAX_"))]


def _coerce(default: Any, raw: str) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


def build_config(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict:
    """Merge defaults, the environment and ``overrides`` (highest precedence).

    Args:
        overrides: A mapping from the caller (tests pass one).
        environ: The environment to read; ``os.environ`` by default.

    Returns:
        The merged configuration.
    """
    env = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for key in _ENV_KEYS:
        if env.get(key) not in (None, ""):
            config[key] = _coerce(DEFAULTS[key], env[key])
    config.update(overrides or {})
    return config


def finalize(config: dict) -> None:
    """Fill development defaults and refuse an unsafe production configuration.

    Raises:
        ConfigError: a one-line description of what is missing.
    """
    production = is_production(config)
    if production:
        problems = []
        key = str(config.get("SECRET_KEY") or "")
        if not key or secret_weakness(key):
            why = secret_weakness(key) if key else "is not set"
            problems.append(f"SECRET_KEY (at least {MIN_SECRET_CHARS} random characters; it {why})")
        secrets = [s.strip() for s in str(config.get("AGENT_SIGNING_SECRET") or "").split(",") if s.strip()]
        weak = next((secret_weakness(s) for s in secrets if secret_weakness(s)), None)
        if not secrets or weak:
            why = weak or "is not set"
            problems.append(
                f"AGENT_SIGNING_SECRET (at least {MIN_SECRET_CHARS} random characters each; one {why})"
            )
        if problems:
            raise ConfigError(
                "refusing to start in production without real secrets: set "
                + " and ".join(problems)
                + " (or APP_ENV=development for a local run)"
            )
        # Production cookies are Secure unless COOKIE_SECURE says otherwise explicitly.
        if str(config.get("COOKIE_SECURE", "auto")).lower() == "auto":
            config["COOKIE_SECURE"] = "true"
    else:
        config["SECRET_KEY"] = config.get("SECRET_KEY") or DEV_SECRET_KEY
        config["AGENT_SIGNING_SECRET"] = config.get("AGENT_SIGNING_SECRET") or DEV_SIGNING_SECRET
    transport = str(config.get("AGENT_TRANSPORT", "http")).lower()
    if transport not in {"http", "agentcore"}:
        raise ConfigError(f"AGENT_TRANSPORT must be 'http' or 'agentcore', not {transport!r}")
    config["AGENT_TRANSPORT"] = transport
    if transport == "agentcore" and not config.get("AGENTCORE_RUNTIME_ARN"):
        raise ConfigError("AGENT_TRANSPORT=agentcore needs AGENTCORE_RUNTIME_ARN")
    if transport == "http" and not runtime_urls(config):
        raise ConfigError("AGENT_TRANSPORT=http needs RUNTIME_URL or RUNTIME_URLS")
    config["SQLALCHEMY_URL"] = normalize_db_url(str(config["DATABASE_URL"]))
    from datetime import timedelta

    config["REMEMBER_COOKIE_DURATION"] = timedelta(days=float(config.get("LOGIN_REMEMBER_DAYS", 14)))
    config["RATELIMIT_ENABLED"] = bool(config.get("RATELIMIT_ENABLED", True))


def is_production(config: Mapping[str, Any]) -> bool:
    """``APP_ENV=production`` (the default)."""
    return str(config.get("APP_ENV", "production")).lower() == "production"


def runtime_urls(config: Mapping[str, Any]) -> list[str]:
    """The runtime base URLs: ``RUNTIME_URLS`` (comma-separated) or else ``RUNTIME_URL``."""
    raw = str(config.get("RUNTIME_URLS") or "") or str(config.get("RUNTIME_URL") or "")
    return [u.strip().rstrip("/") for u in raw.split(",") if u.strip()]


def agent_types(config: Mapping[str, Any]) -> frozenset[str]:
    """The agent types a session may be minted for."""
    return frozenset(t.strip() for t in str(config.get("AGENT_TYPES", "")).split(",") if t.strip())


def normalize_db_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgres://`` / ``postgresql://`` URLs (as Heroku-style envs give)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
