"""Shared test guards: no real cloud model call can happen, and AWS credentials are fake.

Kept deliberately small; package-specific fixtures live in the conftest next to their tests.
"""

from __future__ import annotations

import os

import pytest

from tests.support.aws_env import REAL_AWS_ENV  # noqa: F401  (captured before the fakes below)

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
