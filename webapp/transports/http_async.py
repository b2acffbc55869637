"""The ``http`` transport on an event loop: the same invocation as :class:`~.http.HttpTransport`,
streamed with aiohttp's client (the web app's ASGI edge relays streams without a thread each).

aiohttp rather than httpx here: with hundreds of streams open at once, httpcore's async pool
scans every pooled connection for each new request (47 % of the worker's CPU at 250 streams opened
at once, measured with py-spy), while aiohttp keeps idle connections per host in a queue and parses
HTTP in C.

Refusals map as the blocking transport's (:func:`~.http.open_error`,
:func:`~.http.upstream_status_error`), and only a failed connect moves on to the session's next
runtime (nothing was sent, so nothing can run twice).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence

import aiohttp

from agent_runtime.contract import SESSION_HEADER, ErrorCode

from .base import UpstreamBroken, UpstreamError, UpstreamRequest
from .http import _refused_or_reset, rendezvous_rank, upstream_status_error

logger = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15.0


def async_open_error(exc: BaseException) -> UpstreamError:
    """What the browser gets when the invocation failed before any response (as ``open_error``)."""
    if isinstance(exc, aiohttp.ServerDisconnectedError) or _refused_or_reset(exc):
        message = "the agent runtime refused the connection; it may be restarting"
        return UpstreamError(503, ErrorCode.RUNTIME_RESTARTING, message)
    if isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)):
        return UpstreamError(503, ErrorCode.RUNTIME_UNAVAILABLE, "the agent runtime is not reachable")
    if isinstance(exc, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        return UpstreamError(504, ErrorCode.RUNTIME_TIMEOUT, "the agent runtime did not answer in time")
    return UpstreamError(502, ErrorCode.UPSTREAM_FAILED, "the agent runtime failed")


class AsyncHttpUpstream:
    """An open streamed response: iterate its body as it arrives; ``aclose`` ends it."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self._completed = False

    async def chunks(self) -> AsyncIterator[bytes]:
        """Each piece of the body as it arrives (transfer-decoded, never content-decoded)."""
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
            self._completed = True
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            raise UpstreamBroken(f"{type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        """A fully read response gives its connection back; any other closes it."""
        try:
            if self._completed:
                self._response.release()
            else:
                self._response.close()
        except Exception:  # noqa: BLE001 - closing a broken connection may raise anything
            logger.debug("upstream close failed", exc_info=True)


class AsyncHttpOpener:
    """POSTs invocations to one of ``urls`` from the event loop (one client session per process)."""

    def __init__(self, urls: Sequence[str], *, connect_timeout: float, read_timeout: float) -> None:
        self.urls = list(urls)
        self._timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_read=read_timeout)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_SECONDS),
                timeout=self._timeout,
                auto_decompress=False,
                trust_env=False,
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def open(self, request: UpstreamRequest) -> AsyncHttpUpstream:
        """Send the invocation and wait for the response headers (not the body).

        Raises:
            UpstreamError: refused, unreachable, timed out, or a non-200 answer.
        """
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
        ranked = rendezvous_rank(self.urls, request.session_id) if len(self.urls) > 1 else self.urls
        session = self._http()
        for position, base in enumerate(ranked):
            try:
                response = await session.post(
                    base + "/invocations", data=request.payload, headers=headers, allow_redirects=False
                )
            except aiohttp.ClientConnectorError as exc:
                if position < len(ranked) - 1:
                    logger.warning(
                        "session_id=<%s>, runtime=<%s> | runtime unreachable; trying the next one",
                        request.session_id,
                        base,
                    )
                    continue
                raise async_open_error(exc) from exc
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                raise async_open_error(exc) from exc
            if response.status != 200:
                try:
                    body = await response.content.read(65536)
                except (TimeoutError, aiohttp.ClientError, OSError):
                    body = b""
                finally:
                    response.close()
                raise upstream_status_error(response.status, body)
            return AsyncHttpUpstream(response)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def aclose(self) -> None:
        """Close the client's connections (the worker is stopping)."""
        if self._session is not None:
            await self._session.close()
            self._session = None
