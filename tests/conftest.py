"""Shared test guards: no real cloud model call can happen, and AWS credentials are fake.

Kept deliberately small; package-specific fixtures live in the conftest next to their tests.
"""

from __future__ import annotations

import os

import pytest

_AWS_NAMES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION")
REAL_AWS_ENV = {name: os.environ[name] for name in _AWS_NAMES if name in os.environ}
"""The AWS settings the test run started with (only the ``live_bedrock`` tests use them)."""

# Fake credentials before anything imports boto3, so nothing can reach a real account.
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[_name] = _value
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(autouse=True)
def _block_real_model_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any call to a real (non-offline) model raises ``ModelRequestsBlocked``."""
    try:
        from agent_runtime.models import factory
    except ImportError:  # the runtime extra is not installed (web-app-only run)
        return
    monkeypatch.setattr(factory, "ALLOW_MODEL_REQUESTS", False)
