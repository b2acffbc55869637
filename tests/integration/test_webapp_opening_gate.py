"""The opening gate in the served app (``python -m webapp``, gevent, one slot): an opening waiting
on a runtime slow to answer (a cold microVM), or a client trickling its body in, holds no slot, so
other people's openings and stops go on meanwhile."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from agent_runtime.contract import Limits
from tests.support.runtime_stub import StubRuntime
from tests.support.waiting import wait_until
from tests.support.webapp_harness import *  # noqa: F403 (the stub fixture)
from tests.support.webapp_harness import WebClient, chat_body, served_app


@pytest.fixture(scope="module")
def one_slot(tmp_path_factory: Any, stub: StubRuntime) -> Iterator[WebClient]:
    url = f"sqlite:///{tmp_path_factory.mktemp('gate') / 'webapp.db'}"
    env = {"RUNTIME_URL": stub.url, "WEB_OPENING_GREENLETS": "1"}
    with served_app(url, env, worker_class="gevent") as (process, user), WebClient(process.url) as web:
        assert web.login(user["email"], user["password"]).status_code == 302
        yield web


def test_an_opening_waiting_on_a_slow_runtime_holds_no_slot(one_slot: WebClient, stub: StubRuntime) -> None:
    stub.reset()
    slow, other = one_slot.mint(), one_slot.mint()
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(one_slot.post_json, "/api/agent/run", chat_body(slow, "frames=1 slow_start=1"))
        wait_until(lambda: stub.invocations, "the slow turn reached the runtime")
        # The one slot is free while the runtime has not answered: another turn and a stop go through.
        quick = one_slot.post_json("/api/agent/run", chat_body(other, "frames=2"))
        stopped = one_slot.post_json(
            f"/api/agent/run/{other['session_id']}/stop",
            {"session_id": other["session_id"], "token": other["token"], "action": "stop"},
        )
        assert not stub.invocations[0].answered  # all of that while the slow one still waited
        stub.start_gate.set()
        answered = pending.result(timeout=30)
    assert quick.status_code == 200 and quick.content.count(b"\n\n") == 2
    assert stopped.status_code == 200
    assert answered.status_code == 200 and answered.content.count(b"\n\n") == 1


def test_a_client_trickling_its_body_in_holds_no_slot(one_slot: WebClient, stub: StubRuntime) -> None:
    stub.reset()
    session = one_slot.mint()
    body = json.dumps(chat_body(session, "frames=1")).encode()
    port = int(one_slot.base_url.rsplit(":", 1)[1])
    cookies = "; ".join(f"{name}={value}" for name, value in one_slot.http.cookies.items())
    head = (
        f"POST /api/agent/run HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nCookie: {cookies}\r\nX-CSRFToken: {one_slot.csrf}\r\n"
        f"Origin: {one_slot.base_url}\r\nSec-Fetch-Site: same-origin\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as slow:
        slow.sendall(head + body[:1])  # and the rest of the body… later
        # The one slot is not the slow client's: another person's turn goes through meanwhile.
        other = one_slot.mint()
        quick = one_slot.post_json("/api/agent/run", chat_body(other, "frames=2"))
        assert quick.status_code == 200 and quick.content.count(b"\n\n") == 2
        assert [r.payload["session_id"] for r in stub.invocations] == [other["session_id"]]
        slow.sendall(body[1:])
        answer = b""
        while chunk := slow.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and answer.count(b"id: ") == 1  # its turn ran in full


def test_an_openings_body_keeps_its_limits_when_read_before_the_gate(
    one_slot: WebClient, stub: StubRuntime
) -> None:
    stub.reset()
    session = one_slot.mint()
    limit = Limits.MAX_CHAT_REQUEST_BYTES
    over = json.dumps(chat_body(session, "x" * limit)).encode()
    declared = one_slot.http.post(
        "/api/agent/run", content=over, headers={**one_slot.headers(), "Content-Type": "application/json"}
    )
    chunked = one_slot.http.post(
        "/api/agent/run",
        content=iter([over[:100], over[100:]]),  # no length: sent chunked
        headers={**one_slot.headers(), "Content-Type": "application/json"},
    )
    fits = json.dumps(chat_body(session, "frames=1")).encode()
    chunked_ok = one_slot.http.post(
        "/api/agent/run",
        content=iter([fits[:10], fits[10:]]),
        headers={**one_slot.headers(), "Content-Type": "application/json"},
    )
    for refused in (declared, chunked):
        assert refused.status_code == 413 and refused.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert chunked_ok.status_code == 200 and chunked_ok.content.count(b"id: ") == 1
    assert len(stub.invocations) == 1  # the refused ones never reached the runtime
