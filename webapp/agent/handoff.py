"""The stream path's hand-off: Flask opens a stream, the event loop relays it (the ASGI edge).

Served by the ASGI edge (:mod:`webapp.edge`), the run proxy does everything that decides whether a
stream may start — validation, sign-in, CSRF, the token, the lease, the audit of a decision — in
Flask as before, and then, instead of holding a thread for the stream's life, answers with an
internal marker: a response header naming a one-use, in-memory :class:`RelayTicket` (the
``X-Accel-Redirect`` pattern). The edge takes the ticket and :func:`relay` streams the runtime's
answer from the event loop: frame-aligned exactly as :class:`~webapp.agent.relay.RelayStream`
(whole frames only, unchanged; a cut frame is dropped and one ``RUN_ERROR`` follows), the observers
fed each frame before it goes out, database work (lease release, observers' writes) on a thread.

The marker never reaches a browser: the edge strips it, and only the edge puts a :class:`TicketBook`
in the WSGI environ, so a request served any other way (werkzeug, the test client, gthread) gets
the thread-per-stream :class:`RelayStream`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import Response

from agent_runtime.contract import ErrorCode

from ..audit import StreamResult
from ..transports import Transport, UpstreamBroken, UpstreamError, UpstreamRequest, UpstreamStream
from .relay import FrameBuffer, StreamObserver, run_error_frame

logger = logging.getLogger(__name__)

ENVIRON_KEY = "webapp.relay_tickets"
"""Where the edge puts its :class:`TicketBook` in the WSGI environ (absent: relay in the thread)."""

TICKET_HEADER = "X-Webapp-Relay-Ticket"

STREAM_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
}

OFF_LOOP_FRAMES = (b'"RUN_FINISHED"', b'"RUN_ERROR"', b'"STATE_SNAPSHOT"')
"""Frames an observer may write to the database for (a pause → approval requests) or parse at
length (a snapshot): they are fed on a thread. Every other frame is fed on the loop (a substring
test per observer)."""

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
Receive = Callable[[], Awaitable[Message]]


class AsyncUpstream(Protocol):
    """An open upstream response."""

    def chunks(self) -> Any:
        """Async iterator of raw byte chunks; raises ``UpstreamBroken`` when the stream breaks."""

    async def aclose(self) -> None:
        """Close it."""


class UpstreamAudit(Protocol):
    """An audit that records a stream the runtime refused before it started (a decision, an edit)."""

    def upstream_refused(self, status: int, code: str) -> None:
        """The runtime (or the way to it) failed before streaming."""


class AsyncOpener(Protocol):
    """Opens invocations from the event loop (``HttpTransport.async_opener()``)."""

    async def open(self, request: UpstreamRequest) -> AsyncUpstream:
        """Send; raise ``UpstreamError`` before the stream starts."""


@dataclass
class RelayTicket:
    """Everything the relay needs, handed from the Flask view to the event loop."""

    request: UpstreamRequest
    opener: AsyncOpener
    finish: Callable[[], None]
    """Releases the lease (called once, on a thread, before the response's end)."""
    observer: StreamObserver | None = None
    audit: UpstreamAudit | None = None
    log_context: str = ""
    result: StreamResult = field(default_factory=StreamResult)


class ThreadedUpstream:
    """A blocking upstream read from the loop: each chunk is awaited from a relay thread."""

    def __init__(self, upstream: UpstreamStream, pool: Executor) -> None:
        self._upstream = upstream
        self._pool = pool

    async def chunks(self) -> AsyncIterator[bytes]:
        """The upstream's chunks; a cancelled wait shuts its socket so the thread's read ends."""
        loop = asyncio.get_running_loop()
        chunks = iter(self._upstream)
        while True:
            try:
                chunk = await loop.run_in_executor(self._pool, next, chunks, None)
            except asyncio.CancelledError:
                self._upstream.abort()
                raise
            if chunk is None:
                return
            yield chunk

    async def aclose(self) -> None:
        """Close it on a relay thread (closing may block on a half-read connection)."""
        await asyncio.get_running_loop().run_in_executor(self._pool, self._upstream.close)


class ThreadedOpener:
    """A transport without an event-loop client (``agentcore``) behind the async opener's face.

    Its streams each wait on a thread of the edge's relay pool, never on the pool that serves
    every other request.
    """

    def __init__(self, transport: Transport, pool: Executor) -> None:
        self._transport = transport
        self._pool = pool

    async def open(self, request: UpstreamRequest) -> ThreadedUpstream:
        """Open on a relay thread; ``UpstreamError`` as the transport raises it."""
        loop = asyncio.get_running_loop()
        upstream = await loop.run_in_executor(self._pool, self._transport.open, request)
        return ThreadedUpstream(upstream, self._pool)


class TicketBook:
    """One-use tickets of this process, by random id (and the pool for blocking upstreams)."""

    def __init__(self, relay_threads: int = 1000) -> None:
        self._tickets: dict[str, RelayTicket] = {}
        self._lock = threading.Lock()
        self.relay_pool = ThreadPoolExecutor(relay_threads, thread_name_prefix="stream-relay")

    def issue(self, ticket: RelayTicket) -> str:
        """Keep ``ticket``; returns its id (for :data:`TICKET_HEADER`)."""
        key = secrets.token_urlsafe(16)
        with self._lock:
            self._tickets[key] = ticket
        return key

    def take(self, key: str) -> RelayTicket | None:
        """The ticket, once (None for an unknown or used id)."""
        with self._lock:
            return self._tickets.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._tickets)


def handoff_response(
    environ: dict[str, Any],
    request: UpstreamRequest,
    transport: Any,
    finish: Callable[[], None],
    *,
    observer: StreamObserver | None,
    audit: UpstreamAudit | None,
    log_context: str,
) -> Response | None:
    """The stream's headers with a relay ticket, when the ASGI edge serves this request; else None.

    A transport without an event-loop client (``agentcore``) is relayed through
    :class:`ThreadedOpener`.
    """
    book = environ.get(ENVIRON_KEY)
    if not isinstance(book, TicketBook):
        return None
    async_opener = getattr(transport, "async_opener", None)
    opener = async_opener() if callable(async_opener) else ThreadedOpener(transport, book.relay_pool)
    ticket = RelayTicket(request, opener, finish, observer=observer, audit=audit, log_context=log_context)
    return Response(status=200, headers={**STREAM_HEADERS, TICKET_HEADER: book.issue(ticket)})


def _envelope(code: ErrorCode, message: str) -> bytes:
    return json.dumps({"error": {"code": code.value, "message": message}}).encode("utf-8")


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        continue


class _Relay:
    """One stream's relay on the loop."""

    def __init__(self, ticket: RelayTicket, blocking: Executor) -> None:
        self.ticket = ticket
        self.blocking = blocking
        self.observer = ticket.observer
        self.frames = FrameBuffer()
        self.bytes_sent = 0

    async def _off_loop(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.blocking, fn, *args)

    async def observe(self, chunk: bytes) -> None:
        observer = self.observer
        if observer is None:
            return
        try:
            if any(marker in chunk for marker in OFF_LOOP_FRAMES):
                await self._off_loop(observer.feed, chunk)
            else:
                observer.feed(chunk)
        except Exception:  # noqa: BLE001 - an observer never breaks the stream
            logger.exception("%s | stream observer failed; dropped", self.ticket.log_context)
            self.observer = None

    async def forward(self, chunk: bytes, send: Send) -> None:
        await self.observe(chunk)
        self.bytes_sent += len(chunk)
        await send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def pump(self, upstream: AsyncUpstream, send: Send) -> None:
        """Forward whole frames; on a broken upstream, one ``RUN_ERROR`` (never a traceback)."""
        result = self.ticket.result
        try:
            async for chunk in upstream.chunks():
                whole = self.frames.push(chunk) if chunk else b""
                if whole:
                    await self.forward(whole, send)
            rest = self.frames.finish()
            if rest is None:
                raise UpstreamBroken("the stream ended inside a frame")
            if rest:
                await self.forward(rest, send)
            result.completed = True
        except UpstreamBroken as exc:
            logger.warning(
                "%s, error=<%s>, dropped_bytes=<%d> | upstream failed mid-stream",
                self.ticket.log_context,
                exc,
                len(self.frames.pending),
            )
            result.failure = ErrorCode.UPSTREAM_FAILED
            message = "The assistant's connection was interrupted. Please try again."
            await self.forward_error(run_error_frame(message, ErrorCode.UPSTREAM_FAILED), send)
        except Exception:  # noqa: BLE001 - never a traceback into the stream
            logger.exception("%s | relay failed mid-stream", self.ticket.log_context)
            result.failure = ErrorCode.INTERNAL
            message = "Something went wrong. Please try again."
            await self.forward_error(run_error_frame(message, ErrorCode.INTERNAL), send)

    async def forward_error(self, frame: bytes, send: Send) -> None:
        try:
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        except Exception:  # noqa: BLE001 - the client is gone: nobody to tell
            logger.debug("%s | RUN_ERROR not delivered", self.ticket.log_context, exc_info=True)
            return
        self.bytes_sent += len(frame)

    def cleanup(self) -> None:
        """On a thread: release the lease, then tell the observer how it ended (as ``RelayStream``)."""
        ticket = self.ticket
        try:
            ticket.finish()
        except Exception:  # noqa: BLE001
            logger.exception("%s | stream cleanup failed", ticket.log_context)
        if self.observer is not None:
            ticket.result.bytes_sent = self.bytes_sent
            try:
                self.observer.closed(ticket.result)
            except Exception:  # noqa: BLE001
                logger.exception("%s | stream observer failed at close", ticket.log_context)

    def refused(self, exc: UpstreamError) -> None:
        """On a thread: the runtime refused before streaming."""
        try:
            self.ticket.finish()
        finally:
            if self.ticket.audit is not None:
                self.ticket.audit.upstream_refused(exc.status, exc.code)


async def relay(
    ticket: RelayTicket,
    headers: list[tuple[bytes, bytes]],
    receive: Receive,
    send: Send,
    *,
    blocking: Executor,
) -> None:
    """Open the ticket's upstream and relay it as the response (``headers`` from the Flask view).

    A refusal before the stream starts is the JSON error envelope with the runtime's status, as in
    the thread-per-stream path. However the stream ends, the lease is released and the observers
    told, on a thread from ``blocking``, before the response's end is written.
    """
    job = _Relay(ticket, blocking)
    try:
        upstream = await ticket.opener.open(ticket.request)
    except BaseException as exc:
        error = (
            exc
            if isinstance(exc, UpstreamError)
            else UpstreamError(500, ErrorCode.INTERNAL, "internal error")
        )
        if not isinstance(exc, UpstreamError):
            logger.error("%s | opening the upstream failed", ticket.log_context, exc_info=exc)
        else:
            logger.warning("%s, status=<%s> | runtime refused", ticket.log_context, error.status)
        await job._off_loop(job.refused, error)
        if not isinstance(exc, Exception):
            raise
        body = _envelope(error.code, error.message)
        kept = [
            (k, v) for k, v in headers if k not in (b"content-type", b"x-accel-buffering", b"cache-control")
        ]
        await send(
            {
                "type": "http.response.start",
                "status": error.status,
                "headers": [
                    *kept,
                    (b"content-type", b"application/json"),
                    (b"cache-control", b"no-store"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return
    pump: asyncio.Future[None] | None = None
    gone: asyncio.Future[None] | None = None
    try:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        pump = asyncio.ensure_future(job.pump(upstream, send))
        gone = asyncio.ensure_future(_wait_disconnect(receive))
        await asyncio.wait({pump, gone}, return_when=asyncio.FIRST_COMPLETED)
        if not pump.done():
            ticket.result.client_gone = True
            logger.info("%s | client went away; aborting upstream", ticket.log_context)
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)
    finally:
        for task in (gone, pump):
            if task is not None and not task.done():
                task.cancel()
        await upstream.aclose()
        # Release the lease before the response's end: a client that has read to EOF can start its
        # next turn at once and never meets its own lease. However the relay ended (even a send
        # that failed), the lease is released and the observers are told.
        await asyncio.shield(job._off_loop(job.cleanup))
    if not ticket.result.client_gone:
        await send({"type": "http.response.body", "body": b"", "more_body": False})
