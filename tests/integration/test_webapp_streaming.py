"""The run proxy over real sockets: a live webapp between a client and a runtime stub."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.runtime_stub import StubRuntime
from tests.support.webapp_harness import *  # noqa: F403
from tests.support.webapp_harness import (
    AsgiLiveServer,
    LiveServer,
    WebClient,
    add_user,
    app_config,
    chat_body,
    served_app,
    wait_until_leases_free,
)
from webapp import create_app


@pytest.fixture(params=["werkzeug", "edge"])
def live(request: pytest.FixtureRequest, sqlite_url: str, stub: StubRuntime) -> Iterator[tuple[Any, Any]]:
    """The app on a thread-per-request server, and behind the ASGI edge (the relay on a loop)."""
    stub.reset()
    app = create_app(app_config(sqlite_url, stub.url))
    server = LiveServer(app) if request.param == "werkzeug" else AsgiLiveServer(app)
    with server:
        yield server, app
    app.extensions["agent_transport"].close()
    app.extensions["database"].dispose()


@pytest.fixture()
def client(live: tuple[LiveServer, Any]) -> Iterator[WebClient]:
    server, app = live
    user = add_user(app)
    with WebClient(server.url) as web:
        assert web.login(user["email"], user["password"]).status_code == 302
        yield web


def test_first_frame_arrives_before_the_turn_finishes(client: WebClient, stub: StubRuntime) -> None:
    session = client.mint()
    with client.stream("/api/agent/run", chat_body(session, "frames=5 gate=1")) as response:
        assert response.status_code == 200
        chunks = response.iter_raw()
        first = next(chunks)  # the stub holds frames 1-4 behind its gate until this arrived
        held = stub.invocations[0].sent.count(b"\n\n")
        stub.gate.set()
        rest = b"".join(chunks)
    assert held == 1 and first.startswith(b"id: 0\n") and first.count(b"\n\n") == 1
    assert hashlib.sha256(first + rest).hexdigest() == stub.invocations[0].sha256


def test_a_thousand_frames_lose_nothing(client: WebClient, stub: StubRuntime) -> None:
    session = client.mint()
    with client.stream("/api/agent/run", chat_body(session, "frames=1000 size=400")) as response:
        body = b"".join(response.iter_raw())
    frames = [f for f in body.split(b"\n\n") if f]
    assert len(frames) == 1000
    assert [int(f.split(b"\n", 1)[0][4:]) for f in frames] == list(range(1000))
    assert hashlib.sha256(body).hexdigest() == stub.invocations[0].sha256


def test_browser_disconnect_closes_the_upstream_within_two_seconds(
    client: WebClient, stub: StubRuntime
) -> None:
    session = client.mint()
    with client.stream("/api/agent/run", chat_body(session, "frames=1 hold=1")) as response:
        next(response.iter_raw())
    gone = time.monotonic()  # the client closed its connection
    deadline = gone + 5
    while stub.invocations[0].closed_at is None and time.monotonic() < deadline:
        time.sleep(0.02)
    closed_at = stub.invocations[0].closed_at
    assert closed_at is not None and closed_at - gone < 2.0
    # and the lease was released: a new turn is accepted
    again = client.post_json("/api/agent/run", chat_body(session, "frames=1"))
    assert again.status_code == 200


def test_mid_stream_death_gives_one_run_error_then_eof(client: WebClient, stub: StubRuntime) -> None:
    from ag_ui.core import RunErrorEvent

    session = client.mint()
    with client.stream("/api/agent/run", chat_body(session, "frames=20 die_after=7 partial=1")) as response:
        body = b"".join(response.iter_raw())
    sent = bytes(stub.invocations[0].sent)
    whole = sent[: sent.rindex(b"\n\n") + 2]
    assert len(whole) < len(sent)  # the stub died inside frame 7
    assert body.startswith(whole) and body.count(b"RUN_ERROR") == 1 and body.endswith(b"\n\n")
    frames = [f for f in body.split(b"\n\n") if f]
    assert len(frames) == 8  # frames 0-6 whole, then the RUN_ERROR; nothing of frame 7
    for item in frames:  # every frame the client received parses as one AG-UI event
        data = b"\n".join(line[6:] for line in item.split(b"\n") if line.startswith(b"data: "))
        json.loads(data)
    RunErrorEvent.model_validate_json(frames[-1].removeprefix(b"data: "))


def test_concurrent_turn_is_409_while_streaming(client: WebClient, stub: StubRuntime) -> None:
    session = client.mint()
    with client.stream("/api/agent/run", chat_body(session, "frames=3 interval=0.3")) as response:
        chunks = response.iter_raw()
        next(chunks)
        second = client.post_json("/api/agent/run", chat_body(session, "frames=1"))
        assert second.status_code == 409 and second.json()["error"]["code"] == "SESSION_BUSY"
        b"".join(chunks)
    assert len(stub.invocations) == 1
    assert client.post_json("/api/agent/run", chat_body(session, "frames=1")).status_code == 200


def test_refusals_over_real_http_never_reach_the_runtime(client: WebClient, stub: StubRuntime) -> None:
    session = client.mint()
    plain = client.http.post(
        "/api/agent/run",
        content=json.dumps(chat_body(session, "x")),
        headers=client.headers(**{"Content-Type": "text/plain"}),
    )
    cross = client.http.post(
        "/api/agent/run",
        json=chat_body(session, "x"),
        headers={**client.headers(), "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"},
    )
    forged = client.post_json("/api/agent/run", {**chat_body(session, "x"), "token": session["token"] + "x"})
    assert (plain.status_code, cross.status_code, forged.status_code) == (415, 403, 401)
    assert stub.invocations == []


# ------------------------------------------------------------------------------------------------
# the same through the production server: python -m webapp (gunicorn; both worker classes)
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["gthread", "gevent", "uvicorn"])
def gunicorn_client(
    request: pytest.FixtureRequest, tmp_path_factory: Any, stub: StubRuntime
) -> Iterator[WebClient]:
    url = f"sqlite:///{tmp_path_factory.mktemp('gunicorn') / 'webapp.db'}"
    env = {"RUNTIME_URL": stub.url}
    with served_app(url, env, worker_class=request.param) as (process, user), WebClient(process.url) as web:
        web.database_url = url
        assert web.login(user["email"], user["password"]).status_code == 302
        yield web


def test_gunicorn_streams_byte_exact_first_frame_early(gunicorn_client: WebClient, stub: StubRuntime) -> None:
    stub.reset()
    session = gunicorn_client.mint()
    with gunicorn_client.stream("/api/agent/run", chat_body(session, "frames=4 gate=1 size=500")) as response:
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["x-accel-buffering"] == "no" and "content-encoding" not in response.headers
        chunks = response.iter_raw()
        first = next(chunks)  # arrives while the stub still holds frames 1-3 behind its gate
        held = stub.invocations[0].sent.count(b"\n\n")
        stub.gate.set()
        body = first + b"".join(chunks)
    assert held == 1 and first.count(b"\n\n") == 1
    assert hashlib.sha256(body).hexdigest() == stub.invocations[0].sha256


def test_gunicorn_disconnect_closes_upstream_within_two_seconds(
    gunicorn_client: WebClient, stub: StubRuntime
) -> None:
    stub.reset()
    session = gunicorn_client.mint()
    with gunicorn_client.stream("/api/agent/run", chat_body(session, "frames=1 hold=1")) as response:
        next(response.iter_raw())
    gone = time.monotonic()
    while stub.invocations[0].closed_at is None and time.monotonic() < gone + 5:
        time.sleep(0.02)
    closed_at = stub.invocations[0].closed_at
    assert closed_at is not None and closed_at - gone < 2.0
    # its lease is freed once the upstream has closed; then the session takes its next turn
    assert wait_until_leases_free(gunicorn_client.database_url) == 0
    assert gunicorn_client.post_json("/api/agent/run", chat_body(session, "frames=1")).status_code == 200
