"""The ``agentcore`` transport for real: boto3 → a loopback service fake that answers
InvokeAgentRuntime like AgentCore → the real runtime process."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.support.agentcore_fake import ForwardingFake
from tests.support.runtime_process import RUNTIME_SECRET, RuntimeProcess
from tests.support.runtime_stub import StubRuntime
from tests.support.sse import parse_frames
from tests.support.webapp_harness import *  # noqa: F403
from tests.support.webapp_harness import (
    AsgiLiveServer,
    LiveServer,
    WebClient,
    add_user,
    app_config,
    chat_body,
)
from webapp import create_app

ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/playbook_builder-AbC123"


@pytest.fixture()
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def _live(sqlite_url: str, fake: ForwardingFake, secret: str) -> Any:
    return create_app(
        app_config(
            sqlite_url,
            AGENT_TRANSPORT="agentcore",
            AGENTCORE_RUNTIME_ARN=ARN,
            AGENTCORE_QUALIFIER="DEFAULT",
            AWS_REGION="us-east-1",
            AGENTCORE_ENDPOINT_URL=fake.url,
            AGENT_SIGNING_SECRET=secret,
        )
    )


@pytest.fixture(params=["werkzeug", "edge"])
def via_agentcore(
    request: pytest.FixtureRequest, aws_env: None, sqlite_url: str, runtime: RuntimeProcess
) -> Iterator[tuple[WebClient, ForwardingFake]]:
    """Served on threads, and behind the ASGI edge (the blocking AgentCore stream on a relay thread)."""
    fake = ForwardingFake(runtime.url, agentcore=True).start()
    app = _live(sqlite_url, fake, RUNTIME_SECRET)
    user = add_user(app)
    server = LiveServer(app) if request.param == "werkzeug" else AsgiLiveServer(app)
    with server, WebClient(server.url, timeout=60) as client:
        assert client.login(user["email"], user["password"]).status_code == 302
        yield client, fake
    app.extensions["agent_transport"].close()
    fake.stop()


def test_chat_through_agentcore_reaches_the_real_runtime_byte_exact(
    via_agentcore: tuple[WebClient, ForwardingFake],
) -> None:
    client, fake = via_agentcore
    session = client.mint()
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    body = {
        "session_id": session["session_id"],
        "token": session["token"],
        "action": "chat",
        "prompt": "Onboard new clients with a kickoff call and a 30-day review",
    }
    with client.stream("/api/agent/run", body, traceparent=traceparent) as response:
        assert response.status_code == 200
        received = b"".join(response.iter_raw())
    [call] = fake.calls
    assert call.path == f"/runtimes/{quote(ARN, safe='')}/invocations"
    assert call.arn == ARN and call.qualifier == "DEFAULT"
    assert call.headers["x-amzn-bedrock-agentcore-runtime-session-id"] == session["session_id"]
    assert call.headers["authorization"].startswith("AWS4-HMAC-SHA256")
    assert call.headers["traceparent"] == traceparent
    assert json.loads(call.body) == body
    assert call.complete and hashlib.sha256(received).hexdigest() == call.sha256
    frames = parse_frames(received)
    assert frames[0].type == "RUN_STARTED" and frames[-1].type == "RUN_FINISHED"
    stop = client.post_json(f"/api/agent/run/{session['session_id']}/reset", {"token": session["token"]})
    assert stop.status_code == 200 and len(fake.calls) == 2


@pytest.fixture()
def stub_via_agentcore(
    aws_env: None, sqlite_url: str, stub: StubRuntime
) -> Iterator[tuple[WebClient, ForwardingFake]]:
    stub.reset()
    fake = ForwardingFake(stub.url, agentcore=True).start()
    app = _live(sqlite_url, fake, "test-signing-secret-" + "s" * 32)
    user = add_user(app)
    with LiveServer(app) as server, WebClient(server.url, timeout=30) as client:
        assert client.login(user["email"], user["password"]).status_code == 302
        yield client, fake
    app.extensions["agent_transport"].close()
    fake.stop()


def test_agentcore_streams_frames_as_they_arrive_and_survives_1000_frames(
    stub_via_agentcore: tuple[WebClient, ForwardingFake], stub: StubRuntime
) -> None:
    client, fake = stub_via_agentcore
    session = client.mint()
    with client.stream("/api/agent/run", chat_body(session, "frames=4 gate=1")) as response:
        chunks = response.iter_raw()
        first = next(chunks)  # through the AgentCore transport while the stub holds frames 1-3
        held = stub.invocations[-1].sent.count(b"\n\n")
        stub.gate.set()
        b"".join(chunks)
    assert held == 1 and first.count(b"\n\n") == 1
    with client.stream("/api/agent/run", chat_body(session, "frames=1000 size=300")) as response:
        body = b"".join(response.iter_raw())
    assert len([f for f in body.split(b"\n\n") if f]) == 1000
    assert hashlib.sha256(body).hexdigest() == stub.invocations[-1].sha256


def test_agentcore_mid_stream_death_is_one_run_error(
    stub_via_agentcore: tuple[WebClient, ForwardingFake],
) -> None:
    client, _ = stub_via_agentcore
    session = client.mint()
    with client.stream("/api/agent/run", chat_body(session, "frames=9 die_after=3 partial=1")) as response:
        body = b"".join(response.iter_raw())
    assert body.count(b"RUN_ERROR") == 1 and body.endswith(b"\n\n")
    frames = [f for f in body.split(b"\n\n") if f]
    assert len(frames) == 4  # frames 0-2 whole, the cut frame 3 dropped, then the RUN_ERROR
    assert all(json.loads(f.split(b"data: ", 1)[1]) for f in frames)


@pytest.mark.parametrize(("script", "status"), [("status=503", 503), ("status=500", 502)])
def test_agentcore_service_errors_before_the_stream_are_json(
    stub_via_agentcore: tuple[WebClient, ForwardingFake], script: str, status: int
) -> None:
    client, _ = stub_via_agentcore
    session = client.mint()
    response = client.post_json("/api/agent/run", chat_body(session, script))
    # The fake passes the runtime's status through as the service would surface a runtime failure.
    assert response.status_code == status and "error" in response.json()
