"""The transport interface (DESIGN §5): open one invocation, stream its bytes, abort it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from agent_runtime.contract import ErrorCode

from ..errors import PlaybookError


def known_code(value: object) -> ErrorCode | None:
    """The :class:`ErrorCode` a runtime's error envelope names, or ``None`` for anything else."""
    if not isinstance(value, str):
        return None
    try:
        return ErrorCode(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class UpstreamRequest:
    """One invocation of the runtime."""

    session_id: str
    payload: bytes
    traceparent: str | None = None
    tracestate: str | None = None


class UpstreamError(PlaybookError):
    """The runtime could not be reached, or refused before streaming.

    ``status`` is what the browser gets (429, 502, 503 or 504; or the runtime's own 4xx).
    """

    def __init__(self, status: int, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class UpstreamBroken(PlaybookError):
    """The stream failed after it started (connection lost, read timeout, truncated body)."""


class UpstreamStream(Protocol):
    """An open response: iterate raw byte chunks as they arrive; ``abort`` from any thread."""

    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


class Transport(Protocol):
    """Opens invocations; raises :class:`UpstreamError` before the stream starts."""

    name: str

    def open(self, request: UpstreamRequest) -> UpstreamStream: ...

    def ping(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


def shutdown_socket(sock: Any) -> bool:
    """Shut a socket down so a read blocked on it in another thread returns at once."""
    if sock is None:
        return False
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        return False
    return True
