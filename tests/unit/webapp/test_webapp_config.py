"""Configuration (webapp/config.py) and start-up refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from webapp import create_app
from webapp.config import (
    DEV_SECRET_KEY,
    DEV_SIGNING_SECRET,
    build_config,
    finalize,
    normalize_db_url,
    runtime_urls,
)
from webapp.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
# Random-looking (secrets.token_urlsafe(36)); fixed so the tests are repeatable.
REAL_KEY = "p7Qm2LxV9sKd4RtY8wNc1HbZ6fJe3GaU5oTi0EvWkXy"
REAL_SIGNING = "Zr4Tq8Wm1Ys6Kp3Hd9Lx2Nc7Vb5Jf0Gu4Ea8Qo1Ri6St"
GOOD = {"SECRET_KEY": REAL_KEY, "AGENT_SIGNING_SECRET": REAL_SIGNING}


def test_environment_is_read_and_the_mapping_wins() -> None:
    env = {"RUNTIME_URLS": "http://a:1, http://b:2/", "RUNTIME_READ_TIMEOUT": "90", "AGENT_TRANSPORT": "http"}
    config = build_config({"RUNTIME_READ_TIMEOUT": 30.0}, environ=env)
    assert runtime_urls(config) == ["http://a:1", "http://b:2"]
    assert config["RUNTIME_READ_TIMEOUT"] == 30.0
    assert build_config(environ=env)["RUNTIME_READ_TIMEOUT"] == 90.0


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"SECRET_KEY": "short", "AGENT_SIGNING_SECRET": REAL_SIGNING},
        {"SECRET_KEY": REAL_KEY},
        {"SECRET_KEY": REAL_KEY, "AGENT_SIGNING_SECRET": REAL_SIGNING + ",tooshort"},
        {"SECRET_KEY": REAL_KEY, "AGENT_SIGNING_SECRET": DEV_SIGNING_SECRET},
        # Long enough but not random: issue 10 found production accepting these.
        {"SECRET_KEY": "a" * 32, "AGENT_SIGNING_SECRET": REAL_SIGNING},
        {"SECRET_KEY": REAL_KEY, "AGENT_SIGNING_SECRET": "s" * 40},
        {"SECRET_KEY": "changeme" * 5, "AGENT_SIGNING_SECRET": REAL_SIGNING},
        {"SECRET_KEY": DEV_SECRET_KEY, "AGENT_SIGNING_SECRET": REAL_SIGNING},
    ],
)
def test_production_refuses_without_real_secrets(overrides: dict) -> None:
    config = build_config({"APP_ENV": "production", **overrides}, environ={})
    with pytest.raises(ConfigError, match="refusing to start in production"):
        finalize(config)


def test_production_with_real_secrets_and_development_defaults() -> None:
    finalize(build_config({"APP_ENV": "production", **GOOD}, environ={}))
    dev = build_config({"APP_ENV": "development"}, environ={})
    finalize(dev)
    assert dev["AGENT_SIGNING_SECRET"] == DEV_SIGNING_SECRET and dev["SECRET_KEY"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"AGENT_TRANSPORT": "carrier-pigeon"}, "AGENT_TRANSPORT"),
        ({"AGENT_TRANSPORT": "agentcore"}, "AGENTCORE_RUNTIME_ARN"),
        ({"RUNTIME_URL": "", "RUNTIME_URLS": ""}, "RUNTIME_URL"),
    ],
)
def test_transport_settings_are_checked(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        finalize(build_config({"APP_ENV": "development", **overrides}, environ={}))


def test_postgres_urls_use_psycopg3() -> None:
    assert normalize_db_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_db_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_db_url("sqlite:///x.db") == "sqlite:///x.db"


def test_python_m_webapp_refuses_to_start_in_production_without_secrets(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "AGENT_SIGNING_SECRET", "APP_ENV"}}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path}/x.db", WEB_SERVER="werkzeug")
    result = subprocess.run(
        [sys.executable, "-m", "webapp"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("webapp: error: refusing to start in production")


def test_create_app_uses_agentcore_transport_when_configured(tmp_path: Path) -> None:
    app = create_app(
        {
            "APP_ENV": "testing",
            "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
            "AGENT_TRANSPORT": "agentcore",
            "AGENTCORE_RUNTIME_ARN": "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/pb-abc",
            "AWS_REGION": "us-east-1",
        }
    )
    transport = app.extensions["agent_transport"]
    assert transport.name == "agentcore"
    config = transport._client.meta.config
    assert config.retries["total_max_attempts"] == 1
    assert config.read_timeout > 15  # longer than the runtime's heartbeat gap


def test_log_level_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    webapp_logger = logging.getLogger("webapp")
    before = webapp_logger.level
    monkeypatch.setenv("LOG_LEVEL", "debug")
    try:
        app = create_app(
            {"APP_ENV": "testing", "TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
        )
        assert app.config["LOG_LEVEL"] == "debug"
        assert webapp_logger.level == logging.DEBUG
        app.extensions["database"].dispose()
    finally:
        webapp_logger.setLevel(before)
