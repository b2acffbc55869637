"""The ASGI edge: Flask answers every request; a stream's long relay runs on the event loop.

``python -m webapp`` serves this with gunicorn's ``UvicornWorker`` (uvicorn: uvloop, httptools).
Every request goes to the Flask (WSGI) app on a thread — a2wsgi's ``WSGIMiddleware`` — except the
run proxy's streaming POSTs (``/api/agent/run…``), which take a shorter path:

1. the body (a JSON document, at most the path's limit + 1 byte) is read on the loop;
2. the Flask app runs on one of a few *opening* threads with that body and a
   :class:`~webapp.agent.handoff.TicketBook` in its environ: everything that decides whether the
   stream may start (sign-in, CSRF, token, lease, audit) happens there, unchanged, and its answer
   is an ordinary response — an error envelope, or the stream's headers with a relay ticket;
3. a ticket is relayed from the loop (:func:`~webapp.agent.handoff.relay`); anything else is sent
   as Flask made it.

A stream then costs a socket and a few objects, not a thread: thousands fit in one process, and a
few opening threads take stream openings roughly in arrival order instead of hundreds of threads
sharing the interpreter at once.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from a2wsgi import WSGIMiddleware
from a2wsgi.wsgi import build_environ
from flask import Flask
from uvicorn_worker import UvicornWorker

from agent_runtime.contract import Limits

from .agent.handoff import ENVIRON_KEY, TICKET_HEADER, Message, Receive, Send, TicketBook, relay
from .openings import STREAM_PREFIX
from .security import JSON_PREFIXES, UPLOAD_FORM_OVERHEAD, UPLOAD_PATH, body_limit

logger = logging.getLogger(__name__)

SWITCH_INTERVAL_SECONDS = 0.0005
_TICKET = TICKET_HEADER.lower().encode("latin-1")


class EdgeApp:
    """The ASGI application around the Flask app."""

    def __init__(
        self,
        app: Flask,
        *,
        threads: int = 32,
        opening_threads: int = 2,
        blocking_threads: int = 4,
        relay_threads: int = 1000,
    ) -> None:
        """Wrap ``app``.

        Args:
            app: The Flask app.
            threads: Threads for every other request (pages, APIs, uploads).
            opening_threads: Threads that run the stream path's Flask part (the "open").
            blocking_threads: Threads for the relays' database work (lease release, observers).
            relay_threads: Threads for streams of a transport without an event-loop client
                (``agentcore``): one per such open stream, started only when used.
        """
        self.app = app
        self.tickets = TicketBook(relay_threads)
        self.wsgi = WSGIMiddleware(_input_terminated(app), workers=threads)  # type: ignore[arg-type]
        self.opening = ThreadPoolExecutor(opening_threads, thread_name_prefix="stream-open")
        self.blocking = ThreadPoolExecutor(blocking_threads, thread_name_prefix="stream-db")
        transport = app.extensions["agent_transport"]
        opener = getattr(transport, "async_opener", None)
        self.opener = opener() if callable(opener) else None
        """The transport's event-loop client; None for ``agentcore``, whose streams each wait on
        a thread of ``relay_threads`` (never on the pool serving other requests)."""

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].startswith(STREAM_PREFIX):
            await self._stream(scope, receive, send)
            return
        if scope["type"] == "http":
            body, complete = await _read_body(scope, receive, self._cap(scope["path"]))
            if body is None:
                return  # the client left while sending
            receive = _replay(body, complete, receive)
        await self.wsgi(scope, receive, send)  # type: ignore[arg-type]

    def _cap(self, path: str) -> int:
        """How much of a body to read on the loop: the path's limit + 1 byte (Flask refuses more)."""
        if path == UPLOAD_PATH:
            upload = min(int(self.app.config["ATTACH_MAX_FILE_BYTES"]), Limits.MAX_FILE_BYTES)
            return upload + UPLOAD_FORM_OVERHEAD + 1
        if path.startswith(JSON_PREFIXES):
            return body_limit(path) + 1
        return int(self.app.config.get("MAX_CONTENT_LENGTH") or Limits.MAX_SAVE_BYTES) + 1

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.opener is not None:
                    await self.opener.aclose()
                self.opening.shutdown(wait=False)
                self.tickets.relay_pool.shutdown(wait=False)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _stream(self, scope: Message, receive: Receive, send: Send) -> None:
        body, _complete = await _read_body(scope, receive, body_limit(scope["path"]) + 1)
        if body is None:
            return
        environ: dict[str, Any] = build_environ(scope, io.BytesIO(body))  # type: ignore[arg-type,assignment]
        if "CONTENT_LENGTH" not in environ:
            environ["wsgi.input_terminated"] = True
        environ[ENVIRON_KEY] = self.tickets
        loop = asyncio.get_running_loop()
        status, headers, chunks = await loop.run_in_executor(self.opening, self._call_flask, environ)
        key = next((v for k, v in headers if k == _TICKET), None)
        ticket = self.tickets.take(key.decode("latin-1")) if key is not None else None
        if ticket is None:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": b"".join(chunks)})
            return
        headers = [(k, v) for k, v in headers if k not in (_TICKET, b"content-length")]
        await relay(ticket, headers, receive, send, blocking=self.blocking)

    def _call_flask(self, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], list[bytes]]:
        """Run the Flask app to its (short) answer on an opening thread."""
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [status, headers]
            return lambda _data: None  # the run proxy never calls write()

        iterable = self.app(environ, start_response)  # type: ignore[arg-type]
        try:
            chunks = list(iterable)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        status, raw = started
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in raw]
        return int(status.split(" ", 1)[0]), headers, chunks


async def _read_body(scope: Message, receive: Receive, cap: int) -> tuple[bytes | None, bool]:
    """Read a request's body on the loop, up to ``cap`` bytes (a slow client then holds no thread).

    Returns:
        The bytes (None if the client disconnected) and whether that is the whole body. A body
        declared larger than ``cap`` is not read here: Flask refuses it from its ``Content-Length``.
    """
    declared = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
    if declared is not None and declared.isdigit() and int(declared) > cap:
        return b"", False
    body = bytearray()
    more = True
    while more and len(body) < cap:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None, True
        body += message.get("body", b"")
        more = bool(message.get("more_body", False))
    return bytes(body), not more


def _replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    """``receive`` that first gives the body already read, then the rest from the client."""
    pending = [{"type": "http.request", "body": body, "more_body": not complete}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


def _input_terminated(app: Flask) -> Any:
    """Mark a body without ``Content-Length`` (chunked) as read to its end, as gunicorn does, so
    Flask reads it (and its size limit holds) instead of seeing none."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        if "CONTENT_LENGTH" not in environ:
            environ["wsgi.input_terminated"] = True
        return app(environ, start_response)  # type: ignore[arg-type]

    return wsgi


def create_asgi_app(app: Flask | None = None, **options: Any) -> EdgeApp:
    """The edge around ``app`` (a serving app, built with the approvals worker, by default)."""
    if app is None:
        from . import create_app
        from .__main__ import SERVING

        app = create_app(SERVING)
    return EdgeApp(app, **options)


class EdgeWorker(UvicornWorker):  # type: ignore[misc]
    """gunicorn's uvicorn worker for the edge: uvloop and httptools when installed, our lifespan.

    uvicorn's own ``X-Forwarded-*`` handling is off: Flask's ``ProxyFix`` (``TRUSTED_PROXIES``)
    stays the one place that decides the client's address and scheme, whatever the server.
    """

    CONFIG_KWARGS = {"loop": "auto", "http": "auto", "lifespan": "on", "proxy_headers": False}

    def init_process(self) -> None:
        # The opening threads' database replies and the loop's socket events each wait for the
        # interpreter lock; with a thousand streams open the loop is rarely idle, and at the default
        # 5 ms each of those waits was a convoy (frames p99 and openings measured better at 0.5 ms).
        sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
        super().init_process()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # gunicorn's worker_connections (WEB_WORKER_CONNECTIONS): more connections get a 503.
        self.config.limit_concurrency = self.cfg.worker_connections
        # Cancel streams still open shortly before gunicorn's graceful timeout would kill the
        # worker, so their relays release leases and close upstreams on the way out.
        self.config.timeout_graceful_shutdown = max(1, int(self.cfg.graceful_timeout) - 2)
