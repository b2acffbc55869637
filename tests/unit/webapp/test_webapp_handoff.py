"""The event-loop relay (``webapp.agent.handoff.relay``) and the async opener's error mapping.

Real upstreams are exercised in ``tests/integration/test_webapp_asgi_edge.py``; here the tricky
orderings are pinned with a scripted upstream: whole frames only, one ``RUN_ERROR`` after a cut
frame, a pause's observer write done (on a thread) before its frame goes out, the lease released
before the response's end, and a client that leaves mid-stream.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import pytest

from agent_runtime.contract import ErrorCode
from webapp.agent.handoff import RelayTicket, TicketBook, relay
from webapp.audit import StreamResult
from webapp.transports import UpstreamBroken, UpstreamError, UpstreamRequest
from webapp.transports.http_async import async_open_error

FRAME = b'id: 1\ndata: {"type":"CUSTOM","name":"x","value":1}\n\n'
FINISHED = b'id: 2\ndata: {"type":"RUN_FINISHED","threadId":"t","runId":"r"}\n\n'


class ScriptedUpstream:
    def __init__(self, chunks: list[bytes], *, fail: bool = False, hang: bool = False) -> None:
        self._chunks, self._fail, self._hang = chunks, fail, hang
        self.closed = False

    async def chunks(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk
        if self._hang:
            await asyncio.Event().wait()
        if self._fail:
            raise UpstreamBroken("connection reset")

    async def aclose(self) -> None:
        self.closed = True


class Opener:
    def __init__(self, upstream: ScriptedUpstream | None = None, error: UpstreamError | None = None) -> None:
        self.upstream, self.error = upstream, error

    async def open(self, request: UpstreamRequest) -> ScriptedUpstream:
        if self.error is not None:
            raise self.error
        assert self.upstream is not None
        return self.upstream


class Recorder:
    """An observer that notes, per frame, how many messages had been sent and on which thread."""

    def __init__(self, sent: list[dict[str, Any]]) -> None:
        self.sent = sent
        self.fed: list[tuple[bytes, int, str]] = []
        self.result: StreamResult | None = None

    def feed(self, chunk: bytes) -> None:
        self.fed.append((chunk, len(self.sent), threading.current_thread().name))

    def closed(self, result: StreamResult) -> None:
        self.result = result


def _run(ticket: RelayTicket, *, disconnect: asyncio.Event | None = None) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = ticket.observer.sent if isinstance(ticket.observer, Recorder) else []

    async def go() -> None:
        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        async def receive() -> dict[str, Any]:
            if disconnect is None:
                await asyncio.Event().wait()
            else:
                await disconnect.wait()
            return {"type": "http.disconnect"}

        with ThreadPoolExecutor(1, thread_name_prefix="stream-db") as blocking:
            await asyncio.wait_for(relay(ticket, [(b"x-a", b"1")], receive, send, blocking=blocking), 10)

    asyncio.run(go())
    return sent


def _ticket(opener: Opener, finished: list[int], sent: list[dict[str, Any]]) -> RelayTicket:
    return RelayTicket(
        UpstreamRequest(session_id="s", payload=b"{}"),
        opener,
        lambda: finished.append(len(sent)),
        observer=Recorder(sent),
        log_context="test",
    )


def test_a_cut_frame_is_dropped_and_one_run_error_follows_before_the_end() -> None:
    sent: list[dict[str, Any]] = []
    finished: list[int] = []
    upstream = ScriptedUpstream([FRAME[:10], FRAME[10:] + b'id: 2\ndata: {"ty'], fail=True)
    ticket = _ticket(Opener(upstream), finished, sent)
    _run(ticket)
    assert sent[0] == {"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"1")]}
    bodies = [m["body"] for m in sent[1:]]
    assert bodies[0] == FRAME  # whole, once its blank line came
    assert bodies[1].startswith(b"data: {") and b'"code":"UPSTREAM_FAILED"' in bodies[1]
    assert bodies[1].count(b"\n\n") == 1 and b"id:" not in bodies[1]
    assert bodies[2:] == [b""] and sent[-1]["more_body"] is False
    assert finished == [3]  # the lease was released before the end was written
    assert upstream.closed
    observer = ticket.observer
    assert isinstance(observer, Recorder) and [f[0] for f in observer.fed] == [FRAME]
    assert observer.result is not None and observer.result.failure == ErrorCode.UPSTREAM_FAILED


def test_a_pause_frame_is_observed_on_a_thread_before_it_is_forwarded() -> None:
    sent: list[dict[str, Any]] = []
    ticket = _ticket(Opener(ScriptedUpstream([FRAME, FINISHED])), [], sent)
    _run(ticket)
    observer = ticket.observer
    assert isinstance(observer, Recorder)
    (plain, before_plain, plain_thread), (pause, before_pause, pause_thread) = observer.fed
    assert (plain, pause) == (FRAME, FINISHED)
    assert plain_thread == threading.main_thread().name  # a plain frame: on the loop
    assert pause_thread.startswith("stream-db")  # the database may be written: off the loop
    assert sent[before_pause - 1]["body"] == FRAME and sent[before_pause]["body"] == FINISHED
    assert before_plain == 1 and observer.result is not None and observer.result.completed


def test_a_refusal_is_the_envelope_and_releases_the_lease() -> None:
    sent: list[dict[str, Any]] = []
    finished: list[int] = []
    error = UpstreamError(503, ErrorCode.RUNTIME_RESTARTING, "restarting")
    _run(_ticket(Opener(error=error), finished, sent))
    assert sent[0]["status"] == 503
    assert (b"content-type", b"application/json") in sent[0]["headers"]
    assert sent[1]["body"] == b'{"error": {"code": "RUNTIME_RESTARTING", "message": "restarting"}}'
    assert finished == [0]


def test_a_client_that_leaves_aborts_the_upstream_and_gets_no_end() -> None:
    sent: list[dict[str, Any]] = []
    finished: list[int] = []
    upstream = ScriptedUpstream([FRAME], hang=True)
    ticket = _ticket(Opener(upstream), finished, sent)
    gone = asyncio.Event()
    original = ticket.observer.feed  # type: ignore[union-attr]

    def feed_then_leave(chunk: bytes) -> None:
        original(chunk)
        gone.set()  # the client leaves once the first frame is on its way

    ticket.observer.feed = feed_then_leave  # type: ignore[union-attr,method-assign]
    _run(ticket, disconnect=gone)
    assert upstream.closed and finished == [2]
    assert [m.get("body") for m in sent[1:]] == [FRAME]  # no RUN_ERROR, no end: nobody is there
    assert ticket.result.client_gone


def test_a_ticket_is_used_once() -> None:
    book = TicketBook()
    key = book.issue(_ticket(Opener(), [], []))
    assert book.take(key) is not None and book.take(key) is None and len(book) == 0
    assert book.take("forged") is None


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (aiohttp.ServerDisconnectedError(), 503, ErrorCode.RUNTIME_RESTARTING),
        (ConnectionRefusedError(111, "refused"), 503, ErrorCode.RUNTIME_RESTARTING),
        (aiohttp.ConnectionTimeoutError(), 503, ErrorCode.RUNTIME_UNAVAILABLE),
        (aiohttp.SocketTimeoutError(), 504, ErrorCode.RUNTIME_TIMEOUT),
        (aiohttp.ClientPayloadError("bad"), 502, ErrorCode.UPSTREAM_FAILED),
    ],
)
def test_open_errors_map_as_the_blocking_transport(exc: BaseException, status: int, code: ErrorCode) -> None:
    error = async_open_error(exc)
    assert (error.status, error.code) == (status, code)


def test_a_send_that_fails_still_releases_the_lease_and_closes_the_upstream() -> None:
    finished: list[int] = []
    upstream = ScriptedUpstream([FRAME], hang=True)
    ticket = _ticket(Opener(upstream), finished, [])

    async def go() -> None:
        async def send(message: dict[str, Any]) -> None:
            raise OSError("the client's socket is gone")

        async def receive() -> dict[str, Any]:
            await asyncio.Event().wait()
            return {}

        with ThreadPoolExecutor(1) as blocking:
            await relay(ticket, [], receive, send, blocking=blocking)

    with pytest.raises(OSError):
        asyncio.run(asyncio.wait_for(go(), 10))
    assert finished == [0] and upstream.closed
