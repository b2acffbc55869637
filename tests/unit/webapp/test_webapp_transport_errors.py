"""How a failed invocation is told to the browser: restarting, unreachable, slow (transports/http.py)."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, ProtocolError, ReadTimeoutError

from webapp.transports import UpstreamError, UpstreamRequest
from webapp.transports.http import HttpTransport, open_error


@pytest.fixture()
def resetting_server() -> Iterator[str]:
    """Accepts one connection and resets it (RST) before answering: a runtime dying as it is called."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    thread.join(5)
    server.close()


@pytest.fixture()
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def _refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again: nothing listens there


def _open(url: str) -> UpstreamError:
    transport = HttpTransport([url], connect_timeout=2, read_timeout=2)
    try:
        with pytest.raises(UpstreamError) as refused:
            transport.open(UpstreamRequest(session_id="s" * 36, payload=b"{}"))
    finally:
        transport.close()
    return refused.value


def test_a_refused_connection_is_restarting() -> None:
    error = _open(f"http://127.0.0.1:{_refused_port()}")
    assert (error.status, error.code) == (503, "RUNTIME_RESTARTING")


def test_a_connection_reset_before_the_answer_is_restarting(resetting_server: str) -> None:
    error = _open(resetting_server)
    assert (error.status, error.code) == (503, "RUNTIME_RESTARTING")


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (ConnectTimeoutError(None, "timed out"), 503, "RUNTIME_UNAVAILABLE"),
        (
            NameResolutionError("runtime.invalid", None, socket.gaierror(-2, "Name or service not known")),
            503,
            "RUNTIME_UNAVAILABLE",
        ),
        (ReadTimeoutError(None, "/invocations", "timed out"), 504, "RUNTIME_TIMEOUT"),
        (ProtocolError("illegal status line"), 502, "UPSTREAM_FAILED"),
    ],
)
def test_other_failures_say_unreachable_slow_or_failed(exc: Exception, status: int, code: str) -> None:
    error = open_error(exc)
    assert (error.status, error.code) == (status, code)


def test_a_slow_runtime_is_a_timeout_not_a_restart(silent_server: str) -> None:
    transport = HttpTransport([silent_server], connect_timeout=2, read_timeout=0.3)
    try:
        with pytest.raises(UpstreamError) as slow:
            transport.open(UpstreamRequest(session_id="s" * 36, payload=b"{}"))
    finally:
        transport.close()
    assert (slow.value.status, slow.value.code) == (504, "RUNTIME_TIMEOUT")
