"""``http`` transport: ``POST {RUNTIME_URL}/invocations`` with urllib3, streamed; several runtimes are
chosen per session by rendezvous hashing (the local form of AgentCore's stickiness).

urllib3 (the client under botocore, so already here for the ``agentcore`` transport) rather than
httpx: opening a stream is the web app's bottleneck, and on this path urllib3 costs about a third
of httpx's CPU per request (0.25 vs 0.7 ms measured against the runtime stub).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import (
    TimeoutError as Urllib3Timeout,
)

from agent_runtime.contract import SESSION_HEADER, ErrorCode

from .base import UpstreamBroken, UpstreamError, UpstreamRequest, known_code, shutdown_socket

if TYPE_CHECKING:
    from .http_async import AsyncHttpOpener

logger = logging.getLogger(__name__)


def rendezvous_rank(urls: Sequence[str], key: str) -> list[str]:
    """Highest-random-weight order: stable per key, and only 1/n keys move when a URL is added.

    The first URL is the session's runtime; the rest are its fallbacks, in a per-session order, so
    a dead runtime's sessions spread over the others instead of piling onto one.
    """
    return sorted(urls, key=lambda url: hashlib.sha256(f"{url}\x00{key}".encode()).digest(), reverse=True)


class HttpUpstream:
    """A streaming urllib3 response (``preload_content=False``)."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self._response = cast(urllib3.HTTPResponse, response)
        self._completed = False
        connection = getattr(response, "connection", None)
        self._sock = getattr(connection, "sock", None)

    def __iter__(self) -> Iterator[bytes]:
        response = self._response
        try:
            if response.chunked and response.supports_chunked_reads():
                # Each HTTP chunk as it arrives (the runtime writes one or more whole frames per chunk).
                yield from response.read_chunked(decode_content=False)
            else:
                while chunk := response.read1(65536):
                    yield chunk
            self._completed = True
        except (HTTPError, OSError, ValueError) as exc:
            raise UpstreamBroken(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        """Give a fully read connection back to the pool; close one that is not."""
        try:
            if not self._completed:
                self._response.close()
            self._response.release_conn()
        except Exception:  # noqa: BLE001 - closing a broken connection may raise anything
            logger.debug("upstream close failed", exc_info=True)

    def abort(self) -> None:
        """Shut the connection's socket so a blocked read ends now (called from another thread)."""
        shutdown_socket(self._sock)


class HttpTransport:
    """POSTs invocations to one of ``urls``."""

    name = "http"

    def __init__(
        self,
        urls: Sequence[str],
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_connections: int = 2000,
        idle_connections: int = 64,
    ) -> None:
        if not urls:
            raise ValueError("at least one runtime URL is required")
        self.urls = list(urls)
        self._timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self._timeouts = (connect_timeout, read_timeout)
        self._async: AsyncHttpOpener | None = None
        # Up to idle_connections idle keep-alive connections per runtime; more are opened (and
        # closed after use) when more streams run at once. max_connections stays accepted for
        # configuration compatibility; the WSGI server's threads/connections bound the streams.
        self.max_connections = max_connections
        self._pool = urllib3.PoolManager(
            num_pools=max(4, len(self.urls) + 1),
            maxsize=max(1, idle_connections),
            block=False,
            timeout=self._timeout,
            retries=False,
        )
        # Each runtime's connection pool and path, looked up once (not the URL parsed per stream).
        self._targets: dict[str, tuple[urllib3.HTTPConnectionPool, str]] = {}

    def open(self, request: UpstreamRequest) -> HttpUpstream:
        """Send the invocation and wait for the response headers (not the body)."""
        headers = {
            SESSION_HEADER: request.session_id,
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            "Accept-Encoding": "identity",
        }
        if request.traceparent:
            headers["traceparent"] = request.traceparent
            if request.tracestate:
                headers["tracestate"] = request.tracestate
        try:
            response = self._send(request, headers)
        except (HTTPError, OSError) as exc:
            raise open_error(exc) from exc
        if response.status != 200:
            try:
                body = response.read(65536)
            except (HTTPError, OSError):
                body = b""
            finally:
                response.release_conn()
            raise upstream_status_error(response.status, body)
        return HttpUpstream(response)

    def _send(self, request: UpstreamRequest, headers: dict[str, str]) -> urllib3.BaseHTTPResponse:
        """POST to the session's runtime; if it refuses the connection, to its next fallback.

        Only a failed connect moves on (the invocation was never sent, so nothing can run twice);
        the runtime that takes over continues the session from the shared session store.
        """
        ranked = rendezvous_rank(self.urls, request.session_id) if len(self.urls) > 1 else list(self.urls)
        for position, base in enumerate(ranked):
            pool, path = self._targets.get(base) or self._target(base)
            try:
                return pool.urlopen(
                    "POST",
                    path,
                    body=request.payload,
                    headers=headers,
                    preload_content=False,
                    decode_content=False,
                    redirect=False,
                    retries=False,
                )
            except NewConnectionError:
                if position == len(ranked) - 1:
                    raise
                logger.warning(
                    "session_id=<%s>, runtime=<%s> | runtime unreachable; trying the next one",
                    request.session_id,
                    base,
                )
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _target(self, base: str) -> tuple[urllib3.HTTPConnectionPool, str]:
        pool = cast(urllib3.HTTPConnectionPool, self._pool.connection_from_url(base))
        target = self._targets[base] = (pool, (urllib3.util.parse_url(base).path or "") + "/invocations")
        return target

    def async_opener(self) -> AsyncHttpOpener:
        """The same invocations from an event loop (the ASGI edge's relay), built once."""
        if self._async is None:
            from .http_async import AsyncHttpOpener

            connect, read = self._timeouts
            self._async = AsyncHttpOpener(self.urls, connect_timeout=connect, read_timeout=read)
        return self._async

    def ping(self) -> dict[str, Any]:
        """``GET /ping`` on every runtime."""
        results = {}
        for url in self.urls:
            try:
                response = self._pool.request("GET", url + "/ping", timeout=2.0, retries=False)
                status = json.loads(response.data).get("status") if response.status == 200 else None
                results[url] = {"ok": response.status == 200, "status": status}
            except (HTTPError, OSError, ValueError) as exc:
                results[url] = {"ok": False, "status": None, "detail": type(exc).__name__}
        return {"ok": all(r["ok"] for r in results.values()), "transport": self.name, "runtimes": results}

    def close(self) -> None:
        self._targets.clear()
        self._pool.clear()


def _refused_or_reset(exc: BaseException) -> bool:
    """Whether ``exc`` means a refused, reset or closed-before-answering TCP connection."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected)):
            return True
        if isinstance(seen, ProtocolError) and seen.args[1:] and isinstance(seen.args[1], BaseException):
            seen = seen.args[1]  # urllib3 keeps the socket error as its second argument
            continue
        seen = seen.__cause__ or seen.__context__
    return False


def open_error(exc: BaseException) -> UpstreamError:
    """What the browser gets when the invocation failed before any response.

    * refused or reset connection, or closed before answering (nothing listens: under
      ``make run`` the supervisor is restarting the runtime) → 503 ``RUNTIME_RESTARTING``;
    * any other failure to connect (connect timeout, no route, unknown host) → 503
      ``RUNTIME_UNAVAILABLE``;
    * connected but no answer in time → 504 ``RUNTIME_TIMEOUT``;
    * anything else → 502 ``UPSTREAM_FAILED``.
    """
    if _refused_or_reset(exc):
        message = "the agent runtime refused the connection; it may be restarting"
        return UpstreamError(503, ErrorCode.RUNTIME_RESTARTING, message)
    if isinstance(exc, (NewConnectionError, ConnectTimeoutError)):
        return UpstreamError(503, ErrorCode.RUNTIME_UNAVAILABLE, "the agent runtime is not reachable")
    if isinstance(exc, (ReadTimeoutError, Urllib3Timeout)):
        return UpstreamError(504, ErrorCode.RUNTIME_TIMEOUT, "the agent runtime did not answer in time")
    return UpstreamError(502, ErrorCode.UPSTREAM_FAILED, "the agent runtime failed")


def upstream_status_error(status: int, body: bytes) -> UpstreamError:
    """Map a runtime's non-200 answer: its 4xx (with its error code) passes; anything else is 502/503."""
    code: ErrorCode | None = None
    message = None
    try:
        data = json.loads(body)
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict):
            code, message = known_code(error.get("code")), error.get("message")
    except ValueError:
        pass
    if status == 429:
        return UpstreamError(
            429, code or ErrorCode.TOO_MANY_REQUESTS, str(message or "the agent runtime is busy")
        )
    if 400 <= status < 500:
        return UpstreamError(
            status,
            code or ErrorCode.UPSTREAM_FAILED,
            str(message or f"the agent runtime refused the request ({status})"),
        )
    if status == 503:
        return UpstreamError(503, ErrorCode.RUNTIME_UNAVAILABLE, "the agent runtime is unavailable")
    return UpstreamError(502, ErrorCode.UPSTREAM_FAILED, f"the agent runtime failed ({status})")
