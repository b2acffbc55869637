"""The ASGI edge (``webapp.edge``) over real sockets: Flask opens a stream, the event loop relays it.

The behaviour every server shares (first frame early, byte-exact, disconnects, mid-frame death,
409 while streaming) runs through the edge in ``test_webapp_streaming``; here is what is the edge's
own: the internal relay ticket never reaches a client, a refusal after the hand-off is still the
error envelope (and frees the lease), a stream holds no thread, observers still see every frame.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.playbooks import make_playbook
from tests.support.runtime_stub import StubRuntime
from tests.support.waiting import wait_until
from tests.support.webapp_harness import *  # noqa: F403
from tests.support.webapp_harness import (
    AsgiLiveServer,
    WebClient,
    add_user,
    app_config,
    chat_body,
    wait_until_leases_free,
)
from webapp import create_app
from webapp.agent.handoff import TICKET_HEADER


def _serve(url: str, runtime_url: str) -> tuple[AsgiLiveServer, Any, dict[str, Any]]:
    app = create_app(app_config(url, runtime_url))
    return AsgiLiveServer(app), app, add_user(app)


@pytest.fixture()
def edge(sqlite_url: str, stub: StubRuntime) -> Iterator[tuple[AsgiLiveServer, WebClient]]:
    stub.reset()
    server, app, user = _serve(sqlite_url, stub.url)
    with server, WebClient(server.url) as web:
        assert web.login(user["email"], user["password"]).status_code == 302
        yield server, web
    app.extensions["agent_transport"].close()
    app.extensions["database"].dispose()


def test_a_stream_carries_the_apps_headers_and_never_the_ticket(
    edge: tuple[AsgiLiveServer, WebClient], stub: StubRuntime
) -> None:
    server, web = edge
    session = web.mint()
    forged = {TICKET_HEADER: "not-a-ticket"}  # a client cannot name a ticket
    with web.stream("/api/agent/run", chat_body(session, "frames=3 size=300"), **forged) as response:
        body = b"".join(response.iter_raw())
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["x-accel-buffering"] == "no"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]  # Flask's after_request
    assert TICKET_HEADER.lower() not in {k.lower() for k in response.headers}
    assert "content-length" not in response.headers
    assert hashlib.sha256(body).hexdigest() == stub.invocations[0].sha256
    assert len(server.edge.tickets) == 0  # used once, gone
    page = web.http.get("/api/drafts", headers=forged)  # any other request: Flask as usual
    assert page.status_code == 200 and TICKET_HEADER.lower() not in {k.lower() for k in page.headers}


def test_a_runtime_refusal_after_the_hand_off_is_an_envelope_and_frees_the_lease(
    edge: tuple[AsgiLiveServer, WebClient], stub: StubRuntime
) -> None:
    _, web = edge
    session = web.mint()
    refused = web.post_json("/api/agent/run", chat_body(session, "status=429"))
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/json"
    assert refused.json()["error"]["code"] == "TOO_MANY_REQUESTS"
    assert "frame-ancestors 'none'" in refused.headers["content-security-policy"]
    again = web.post_json("/api/agent/run", chat_body(session, "frames=1"))  # not 409: the lease was released
    assert again.status_code == 200 and again.content.count(b"\n\n") == 1


def test_an_unreachable_runtime_is_a_503_envelope_and_frees_the_lease(sqlite_url: str) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nobody = f"http://127.0.0.1:{closed.getsockname()[1]}"  # bound, never listening
        server, app, user = _serve(sqlite_url, nobody)
        with server, WebClient(server.url) as web:
            assert web.login(user["email"], user["password"]).status_code == 302
            session = web.mint()
            answers = [web.post_json("/api/agent/run", chat_body(session, "frames=1")) for _ in range(2)]
    app.extensions["agent_transport"].close()
    app.extensions["database"].dispose()
    assert [a.status_code for a in answers] == [503, 503]  # the second is not 409 SESSION_BUSY
    assert {a.json()["error"]["code"] for a in answers} == {"RUNTIME_RESTARTING"}


def test_open_streams_hold_no_thread_and_end_cleanly(
    edge: tuple[AsgiLiveServer, WebClient], stub: StubRuntime, sqlite_url: str
) -> None:
    _, web = edge
    sessions = [web.mint() for _ in range(40)]
    threads_before = threading.active_count()

    async def hold_all() -> tuple[list[bytes], int]:
        async with httpx.AsyncClient(base_url=web.http.base_url, cookies=web.http.cookies) as client:
            async with asyncio.TaskGroup() as group:
                opened = [
                    group.create_task(
                        _first_frame(client, web.headers(), chat_body(s, "frames=1 hold=1")),
                    )
                    for s in sessions
                ]
                while sum(1 for r in stub.invocations if r.sent) < len(sessions):
                    await asyncio.sleep(0.02)
                during = threading.active_count()
            return [t.result() for t in opened], during

    firsts, during = asyncio.run(asyncio.wait_for(hold_all(), 30))
    assert all(f.startswith(b"id: 0\n") for f in firsts)
    # 40 streams open at once: the edge's bounded pools (opening, database work), not 40 threads
    assert during - threads_before <= 16
    wait_until(lambda: all(r.closed_at is not None for r in stub.invocations), "every upstream closed")
    # every lease released (after its upstream closed): each session then takes a new turn at once
    assert wait_until_leases_free(sqlite_url) == 0
    assert all(
        web.post_json("/api/agent/run", chat_body(s, "frames=1")).status_code == 200 for s in sessions[:5]
    )


async def _first_frame(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> bytes:
    async with client.stream("POST", "/api/agent/run", json=body, headers=headers) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_raw():
            return chunk
    return b""


def test_the_draft_recorder_sees_the_relayed_snapshot(
    edge: tuple[AsgiLiveServer, WebClient], stub: StubRuntime
) -> None:
    _, web = edge
    session = web.mint()
    stub.canvases[session["session_id"]] = make_playbook(2, 1, 1, title="Relayed on the loop")
    watch = {"token": session["token"]}
    response = web.post_json(f"/api/agent/run/{session['session_id']}/watch", watch)
    assert response.status_code == 200 and b"STATE_SNAPSHOT" in response.content
    drafts = web.http.get("/api/drafts").json()["drafts"]
    assert [d["title"] for d in drafts if d["session_id"] == session["session_id"]] == ["Relayed on the loop"]
