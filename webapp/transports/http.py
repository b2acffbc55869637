"""``http`` transport: ``POST {RUNTIME_URL}/invocations`` with httpx, streamed; several runtimes are
chosen per session by rendezvous hashing (the local form of AgentCore's stickiness)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from agent_runtime.contract import SESSION_HEADER, ErrorCode

from .base import UpstreamBroken, UpstreamError, UpstreamRequest, known_code, shutdown_socket

logger = logging.getLogger(__name__)


def rendezvous_rank(urls: Sequence[str], key: str) -> list[str]:
    """Highest-random-weight order: stable per key, and only 1/n keys move when a URL is added.

    The first URL is the session's runtime; the rest are its fallbacks, in a per-session order, so
    a dead runtime's sessions spread over the others instead of piling onto one.
    """
    return sorted(urls, key=lambda url: hashlib.sha256(f"{url}\x00{key}".encode()).digest(), reverse=True)


class HttpUpstream:
    """A streaming httpx response."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self._aborted = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._response.iter_raw()
        except httpx.HTTPError as exc:
            raise UpstreamBroken(f"{type(exc).__name__}: {exc}") from exc
        except OSError as exc:
            raise UpstreamBroken(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        try:
            self._response.close()
        except Exception:  # noqa: BLE001 - closing a broken connection may raise anything
            logger.debug("upstream close failed", exc_info=True)

    def abort(self) -> None:
        """Shut the connection's socket so a blocked read ends now (called from another thread)."""
        self._aborted = True
        stream = self._response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        shutdown_socket(sock)


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
    ) -> None:
        if not urls:
            raise ValueError("at least one runtime URL is required")
        self.urls = list(urls)
        self._client = httpx.Client(
            timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=10.0, pool=10.0),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=64),
            trust_env=False,
        )

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
        except httpx.ConnectError as exc:
            raise UpstreamError(
                503, ErrorCode.RUNTIME_UNAVAILABLE, "the agent runtime is not reachable"
            ) from exc
        except httpx.TimeoutException as exc:
            raise UpstreamError(
                504, ErrorCode.RUNTIME_TIMEOUT, "the agent runtime did not answer in time"
            ) from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(502, ErrorCode.UPSTREAM_FAILED, "the agent runtime failed") from exc
        if response.status_code != 200:
            try:
                body = response.read()[:65536]
            except httpx.HTTPError:
                body = b""
            finally:
                response.close()
            raise upstream_status_error(response.status_code, body)
        return HttpUpstream(response)

    def _send(self, request: UpstreamRequest, headers: dict[str, str]) -> httpx.Response:
        """POST to the session's runtime; if it refuses the connection, to its next fallback.

        Only a failed connect moves on (the invocation was never sent, so nothing can run twice);
        the runtime that takes over continues the session from the shared session store.
        """
        ranked = rendezvous_rank(self.urls, request.session_id) if len(self.urls) > 1 else list(self.urls)
        for position, base in enumerate(ranked):
            try:
                return self._client.send(
                    self._client.build_request(
                        "POST", base + "/invocations", content=request.payload, headers=headers
                    ),
                    stream=True,
                )
            except httpx.ConnectError:
                if position == len(ranked) - 1:
                    raise
                logger.warning(
                    "session_id=<%s>, runtime=<%s> | runtime unreachable; trying the next one",
                    request.session_id,
                    base,
                )
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def ping(self) -> dict[str, Any]:
        """``GET /ping`` on every runtime."""
        results = {}
        for url in self.urls:
            try:
                response = self._client.get(url + "/ping", timeout=2.0)
                status = response.json().get("status") if response.status_code == 200 else None
                results[url] = {"ok": response.status_code == 200, "status": status}
            except (httpx.HTTPError, ValueError) as exc:
                results[url] = {"ok": False, "status": None, "detail": type(exc).__name__}
        return {"ok": all(r["ok"] for r in results.values()), "transport": self.name, "runtimes": results}

    def close(self) -> None:
        self._client.close()


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
