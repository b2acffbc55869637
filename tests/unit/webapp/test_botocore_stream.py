"""The botocore/urllib3 internals behind ``webapp.transports.botocore_stream``, pinned.

A real ``bedrock-agentcore`` client invokes a loopback server that answers with a chunked event
stream, as the service does; the adapter must find the urllib3 response under botocore's body and
the socket under that response. When botocore or urllib3 is upgraded, the version test fails first
with what to check.
"""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import boto3
import pytest
from botocore.config import Config

from webapp.transports.agentcore import AgentCoreUpstream
from webapp.transports.botocore_stream import (
    TESTED_BOTOCORE_VERSION,
    TESTED_URLLIB3_VERSION,
    raw_socket,
    raw_stream,
)

CHUNKS = [b"data: one\n\n", b"data: two\n\n"]
first_chunk_sent = threading.Event()
release_rest = threading.Event()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i, chunk in enumerate(CHUNKS):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
            if i == 0:
                first_chunk_sent.set()
                release_rest.wait(5)
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def body(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, tuple[str, int]]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    first_chunk_sent.clear()
    release_rest.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = boto3.session.Session().client(
        "bedrock-agentcore",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{server.server_address[1]}",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    response = client.invoke_agent_runtime(
        agentRuntimeArn="arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/test-abc",
        runtimeSessionId="s" * 33,
        payload=b"{}",
        contentType="application/json",
        accept="text/event-stream",
    )
    try:
        yield response["response"], ("127.0.0.1", server.server_address[1])
    finally:
        release_rest.set()
        response["response"].close()
        server.shutdown()
        server.server_close()
        client.close()


def test_installed_versions_are_the_ones_the_adapter_was_checked_against() -> None:
    assert (version("botocore"), version("urllib3")) == (TESTED_BOTOCORE_VERSION, TESTED_URLLIB3_VERSION), (
        "botocore/urllib3 changed: check webapp/transports/botocore_stream.py against the new releases "
        "(StreamingBody._raw_stream, urllib3 response _connection.sock / _fp.fp.raw._sock), run this "
        "module, then update TESTED_BOTOCORE_VERSION / TESTED_URLLIB3_VERSION"
    )


def test_the_raw_stream_and_its_socket_are_found(body: tuple[Any, tuple[str, int]]) -> None:
    streaming_body, server_address = body
    raw = raw_stream(streaming_body)
    assert raw is not None, "botocore's StreamingBody no longer keeps _raw_stream"
    assert getattr(raw, "chunked", False) and hasattr(raw, "read_chunked")
    sock = raw_socket(raw)
    assert isinstance(sock, socket.socket), "urllib3's response no longer leads to its socket"
    assert sock.getpeername() == server_address


def test_the_first_chunk_arrives_before_the_rest_is_sent(body: tuple[Any, tuple[str, int]]) -> None:
    upstream = AgentCoreUpstream(body[0])
    chunks = iter(upstream)
    assert first_chunk_sent.wait(5)
    assert next(chunks) == CHUNKS[0]  # the server holds the rest back until this returns
    release_rest.set()
    assert b"".join(chunks) == CHUNKS[1]
