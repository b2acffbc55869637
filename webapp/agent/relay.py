"""The byte relay: the runtime's SSE bytes go to the browser unchanged, chunk by chunk.

Nothing is parsed. The relay only remembers the last few bytes sent, so that if the upstream dies
mid-stream it can close the partial frame and append exactly one AG-UI ``RUN_ERROR`` frame at a
frame boundary, then end the stream:

* bytes so far end with a blank line (or nothing was sent): append the ``RUN_ERROR`` frame;
* they end with a complete line but no blank line (an unterminated event of whole lines): one
  ``\\n`` dispatches that event as sent, then the ``RUN_ERROR`` frame;
* they end mid-line: ``\\n\\n`` ends the line and the event. That event's ``data`` is truncated JSON,
  which the browser's reader must skip (it cannot be valid AG-UI); the following ``RUN_ERROR`` is
  what it acts on. No SSE syntax can retract a half-sent line, so this is the least surprising
  choice: the truncated event is isolated in its own frame and everything after it parses.

The ``RUN_ERROR`` frame carries no ``id:``, so a later ``watch`` with ``Last-Event-ID`` resumes
after the last real event the runtime numbered.

An optional *observer* (the audit of a ``resume_interrupt``) is handed a copy of each upstream
chunk before it is forwarded, and told how the stream ended when it closes. It can only look:
what it does never changes the bytes, and an observer that fails is dropped, not the stream.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from agent_runtime.contract import ErrorCode

from ..audit import StreamResult
from ..transports import UpstreamBroken, UpstreamStream
from .disconnect import DisconnectMonitor

logger = logging.getLogger(__name__)


def run_error_frame(message: str, code: ErrorCode = ErrorCode.UPSTREAM_FAILED) -> bytes:
    """One AG-UI ``RUN_ERROR`` SSE frame (the shape ``ag_ui.core.RunErrorEvent`` validates)."""
    event = {"type": "RUN_ERROR", "message": message, "code": str(code)}
    return b"data: " + json.dumps(event, separators=(",", ":")).encode("utf-8") + b"\n\n"


def frame_terminator(tail: bytes) -> bytes:
    """What to send so that the bytes so far (ending in ``tail``) end at a frame boundary."""
    if not tail or tail.endswith((b"\n\n", b"\r\n\r\n", b"\r\r")):
        return b""
    if tail.endswith((b"\n", b"\r")):
        return b"\n"
    return b"\n\n"


class StreamObserver(Protocol):
    """Watches a relayed stream without touching it."""

    def feed(self, chunk: bytes) -> None:
        """A copy of an upstream chunk about to be forwarded."""

    def closed(self, result: StreamResult) -> None:
        """The stream is over (called once, after ``on_finish``)."""


class RelayStream:
    """The WSGI body of a proxied stream.

    Iterating yields the upstream's chunks as they arrive. ``close()`` (called by the WSGI server
    however the response ends: finished, failed, or client gone) closes the upstream and runs
    ``on_finish`` exactly once, even if iteration never started.
    """

    def __init__(
        self,
        upstream: UpstreamStream,
        *,
        on_finish: Callable[[], None],
        on_chunk: Callable[[], None] | None = None,
        monitor: DisconnectMonitor | None = None,
        client_sock: Any = None,
        log_context: str = "",
        observer: StreamObserver | None = None,
    ) -> None:
        self._upstream = upstream
        self._on_finish = on_finish
        self._on_chunk = on_chunk
        self._monitor = monitor
        self._client_sock = client_sock
        self._watch_handle: int | None = None
        self._client_gone = False
        self._closed = False
        self._ctx = log_context
        self._observer = observer
        self.result = StreamResult()
        self.bytes_sent = 0

    def _hangup(self) -> None:
        self._client_gone = True
        self.result.client_gone = True
        logger.info("%s | client went away; aborting upstream", self._ctx)
        self._upstream.abort()

    def __iter__(self) -> Iterator[bytes]:
        if self._monitor is not None and self._client_sock is not None:
            self._watch_handle = self._monitor.watch(self._client_sock, self._hangup)
        tail = b""
        started = time.monotonic()
        try:
            for chunk in self._upstream:
                if not chunk:
                    continue
                tail = (tail + chunk)[-4:]
                self.bytes_sent += len(chunk)
                self._observe(chunk)
                yield chunk
                if self._on_chunk is not None:
                    self._on_chunk()
            if frame_terminator(tail):
                raise UpstreamBroken("the stream ended inside a frame")
            self.result.completed = True
        except UpstreamBroken as exc:
            if self._client_gone:
                return
            logger.warning("%s, error=<%s> | upstream failed mid-stream", self._ctx, exc)
            self.result.failure = ErrorCode.UPSTREAM_FAILED
            yield frame_terminator(tail) + run_error_frame(
                "The assistant's connection was interrupted. Please try again.", ErrorCode.UPSTREAM_FAILED
            )
        except Exception:  # noqa: BLE001 - never a traceback into the stream
            if self._client_gone:
                return
            logger.exception("%s | relay failed mid-stream", self._ctx)
            self.result.failure = ErrorCode.INTERNAL
            yield frame_terminator(tail) + run_error_frame(
                "Something went wrong. Please try again.", ErrorCode.INTERNAL
            )
        finally:
            logger.debug(
                "%s, bytes=<%d>, seconds=<%.3f> | stream ended",
                self._ctx,
                self.bytes_sent,
                time.monotonic() - started,
            )
            # Release the lease before the server writes the response's end: a client that has read
            # to EOF can start its next turn at once and never meets its own lease.
            self.close()

    def _observe(self, chunk: bytes) -> None:
        if self._observer is None:
            return
        try:
            self._observer.feed(chunk)
        except Exception:  # noqa: BLE001 - an observer never breaks the stream
            logger.exception("%s | stream observer failed; dropped", self._ctx)
            self._observer = None

    def close(self) -> None:
        """Release everything (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._monitor is not None:
            self._monitor.unwatch(self._watch_handle)
        try:
            self._upstream.close()
        finally:
            try:
                self._on_finish()
            except Exception:  # noqa: BLE001
                logger.exception("%s | stream cleanup failed", self._ctx)
            finally:
                self._notify_closed()

    def _notify_closed(self) -> None:
        if self._observer is None:
            return
        self.result.bytes_sent = self.bytes_sent
        try:
            self._observer.closed(self.result)
        except Exception:  # noqa: BLE001
            logger.exception("%s | stream observer failed at close", self._ctx)
