"""The frame relay: the runtime's SSE bytes go to the browser unchanged, one whole frame at a time.

The relay parses nothing inside a frame. It only finds frame boundaries (a blank line: two line
endings in a row, ``\\n``, ``\\r\\n`` or ``\\r``) so that it can forward every complete frame's bytes
as soon as its blank line arrives, and never part of one. Whatever follows the last boundary waits
in a small buffer until the rest of its frame comes. The concatenation of everything forwarded is
the upstream's bytes, so a stream that ends cleanly reaches the browser byte for byte.

If the upstream dies (or ends) inside a frame, that partial frame is dropped — it was never sent —
and exactly one AG-UI ``RUN_ERROR`` frame follows, so every byte the browser received parses. The
``RUN_ERROR`` frame carries no ``id:``, so a later ``watch`` with ``Last-Event-ID`` resumes after
the last real event the runtime numbered.

An optional *observer* (the audit of a ``resume_interrupt``) is handed a copy of each forwarded
piece (always whole frames) before it goes out, and told how the stream ended when it closes. It
can only look: what it does never changes the bytes, and an observer that fails is dropped, not
the stream.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from agent_runtime.contract import ErrorCode

from ..audit import StreamResult
from ..transports import UpstreamBroken, UpstreamStream
from .disconnect import DisconnectMonitor

logger = logging.getLogger(__name__)

_BOUNDARY = re.compile(rb"(?:\r\n|\r|\n)(?:\r\n|\r|\n)")
"""A blank line: a line ending directly followed by another (SSE's end of an event)."""

_LINE_ENDINGS = b"\r\n"


def run_error_frame(message: str, code: str = ErrorCode.UPSTREAM_FAILED) -> bytes:
    """One AG-UI ``RUN_ERROR`` SSE frame (the shape ``ag_ui.core.RunErrorEvent`` validates)."""
    event = {"type": "RUN_ERROR", "message": message, "code": str(code)}
    return b"data: " + json.dumps(event, separators=(",", ":")).encode("utf-8") + b"\n\n"


def complete_length(buffer: bytes, *, final: bool = True) -> int:
    """How many leading bytes of ``buffer`` are whole SSE frames (0 if none is complete yet).

    Args:
        buffer: Bytes of the stream, starting at a frame boundary.
        final: Whether no more bytes will follow. While more may come, a trailing ``\\r`` is not yet
            a line ending (it may be the first half of ``\\r\\n``), so the frame it would end waits.

    The common case — the buffer ends exactly at a ``\\n\\n`` boundary — costs one comparison.
    """
    if buffer.endswith(b"\n\n"):
        return len(buffer)
    end = 0
    searched = buffer if final or not buffer.endswith(b"\r") else buffer[:-1]
    for match in _BOUNDARY.finditer(searched):
        end = match.end()
    return end


class FrameBuffer:
    """Accumulates upstream chunks and releases only whole frames, in order, unchanged."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending = b""

    def push(self, chunk: bytes) -> bytes:
        """Add ``chunk``; return the frames it completed (possibly ``b""``)."""
        buffer = self._pending + chunk if self._pending else chunk
        end = complete_length(buffer, final=False)
        if end == len(buffer):
            self._pending = b""
            return buffer
        self._pending = buffer[end:]
        return buffer[:end]

    def finish(self) -> bytes | None:
        """The upstream ended cleanly: the rest to forward, or None if it ends inside a frame.

        What remains is forwarded when it is whole frames (one that ended in ``\\r``) or only stray
        line endings; anything else is a cut frame and is dropped.
        """
        rest, self._pending = self._pending, b""
        if complete_length(rest) == len(rest) or not rest.strip(_LINE_ENDINGS):
            return rest
        self._pending = rest
        return None

    @property
    def pending(self) -> bytes:
        """Bytes of a frame whose blank line has not arrived."""
        return self._pending


class StreamObserver(Protocol):
    """Watches a relayed stream without touching it."""

    def feed(self, chunk: bytes) -> None:
        """A copy of an upstream chunk about to be forwarded."""

    def closed(self, result: StreamResult) -> None:
        """The stream is over (called once, after ``on_finish``)."""


class RelayStream:
    """The WSGI body of a proxied stream.

    Iterating yields the upstream's frames, each as soon as it is complete, never part of one.
    ``close()`` (called by the WSGI server however the response ends: finished, failed, or client
    gone) closes the upstream and runs
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
        frames = FrameBuffer()
        started = time.monotonic()
        try:
            for chunk in self._upstream:
                if not chunk:
                    continue
                whole = frames.push(chunk)
                if not whole:
                    continue
                self.bytes_sent += len(whole)
                self._observe(whole)
                yield whole
                if self._on_chunk is not None:
                    self._on_chunk()
            rest = frames.finish()
            if rest is None:
                raise UpstreamBroken("the stream ended inside a frame")
            if rest:
                self.bytes_sent += len(rest)
                self._observe(rest)
                yield rest
            self.result.completed = True
        except UpstreamBroken as exc:
            if self._client_gone:
                return
            logger.warning(
                "%s, error=<%s>, dropped_bytes=<%d> | upstream failed mid-stream",
                self._ctx,
                exc,
                len(frames.pending),
            )
            self.result.failure = ErrorCode.UPSTREAM_FAILED
            yield run_error_frame(
                "The assistant's connection was interrupted. Please try again.", ErrorCode.UPSTREAM_FAILED
            )
        except Exception:  # noqa: BLE001 - never a traceback into the stream
            if self._client_gone:
                return
            logger.exception("%s | relay failed mid-stream", self._ctx)
            self.result.failure = ErrorCode.INTERNAL
            yield run_error_frame("Something went wrong. Please try again.", ErrorCode.INTERNAL)
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
