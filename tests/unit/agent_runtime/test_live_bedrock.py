"""The runtime against real Bedrock, for people with AWS credentials and model access.

Skipped when the test run started without AWS credentials (CI has none). Run with
``AWS_PROFILE=… pytest -m live_bedrock tests/unit/agent_runtime/test_live_bedrock.py``; it makes a few
real, billed Claude calls in ``AWS_REGION`` (default ``us-east-1``).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from agent_runtime.models import factory
from tests.support.aws_env import REAL_AWS_ENV
from tests.support.sse import check_stream, tool_calls

pytestmark = pytest.mark.live_bedrock

_HAS_CREDENTIALS = bool(
    ("AWS_ACCESS_KEY_ID" in REAL_AWS_ENV and "AWS_SECRET_ACCESS_KEY" in REAL_AWS_ENV)
    or "AWS_PROFILE" in REAL_AWS_ENV
)


@pytest.mark.skipif(not _HAS_CREDENTIALS, reason="live Bedrock: no AWS credentials in the environment")
def test_a_first_turn_and_a_rename_on_real_bedrock(
    monkeypatch: pytest.MonkeyPatch, make_harness: Any
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in REAL_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", raising=False)
    monkeypatch.setattr(factory, "ALLOW_MODEL_REQUESTS", True)
    harness = make_harness(
        None, MODEL_PROVIDER="bedrock", AWS_REGION=os.environ.get("AWS_REGION", "us-east-1")
    )
    frames = harness.chat("Onboard new clients with a kickoff call, document collection and a 30-day review")
    check_stream(frames)
    assert frames[-1].type == "RUN_FINISHED", frames[-1].event
    assert "set_playbook_outline" in [name for name, _ in tool_calls(frames)]
    frames = harness.chat("Rename the playbook to Client Welcome")
    check_stream(frames)
    assert frames[-1].type == "RUN_FINISHED", frames[-1].event
    assert any(name == "update_playbook" for name, _ in tool_calls(frames))
