"""A loopback stand-in for the Bedrock AgentCore data plane, forwarding to a real runtime.

It answers ``InvokeAgentRuntime`` the way the service does (botocore's service model:
``POST /runtimes/{agentRuntimeArn}/invocations?qualifier=…``, the session id in
``X-Amzn-Bedrock-AgentCore-Runtime-Session-Id``, a SigV4 ``Authorization`` header, the payload as the
body, the runtime's bytes streamed back with chunked encoding, errors as ``x-amzn-ErrorType`` + JSON
``{"message"}``), and forwards each call to ``{runtime_url}/invocations`` with the session header.

With ``agentcore=False`` it is a plain recording tap in front of ``/invocations`` (used to capture the
exact bytes a real runtime sent, for the byte-exactness test). Every call is recorded with the
bytes forwarded back, so a test can compare hashes with what its client received.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"


@dataclass
class Call:
    path: str
    arn: str | None
    qualifier: str | None
    headers: dict[str, str]
    body: bytes
    sent: bytearray = field(default_factory=bytearray)
    status: int = 0
    complete: bool = False

    @property
    def sha256(self) -> str:
        return hashlib.sha256(bytes(self.sent)).hexdigest()


class ForwardingFake:
    """``start()`` → serves on ``url`` in a thread; ``calls`` lists what it saw."""

    def __init__(self, runtime_url: str, *, agentcore: bool = True) -> None:
        self.runtime_url = runtime_url.rstrip("/")
        self.agentcore = agentcore
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                with httpx.Client(timeout=5) as client:
                    upstream = client.get(fake.runtime_url + self.path)
                self._reply(
                    upstream.status_code, upstream.content, upstream.headers.get("content-type", "text/plain")
                )

            def do_POST(self) -> None:  # noqa: N802
                fake._invoke(self)

            def _reply(
                self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> ForwardingFake:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- the InvokeAgentRuntime call -------------------------------------------------------------

    def _error(self, handler: Any, status: int, error_type: str, message: str) -> None:
        body = json.dumps({"message": message}).encode()
        handler._reply(
            status,
            body,
            "application/json",
            {"x-amzn-ErrorType": error_type, "x-amzn-RequestId": str(uuid.uuid4())},
        )

    def _invoke(self, handler: Any) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length", "0"))
        body = handler.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        arn = qualifier = None
        if self.agentcore:
            segments = parts.path.split("/")
            if len(segments) != 4 or segments[1] != "runtimes" or segments[3] != "invocations":
                return self._error(handler, 404, "ResourceNotFoundException", "unknown operation")
            arn = unquote(segments[2])
            qualifier = (parse_qs(parts.query).get("qualifier") or [None])[0]
        call = Call(parts.path, arn, qualifier, headers, body)
        with self._lock:
            self.calls.append(call)
        if self.agentcore:
            if not headers.get("authorization", "").startswith("AWS4-HMAC-SHA256"):
                return self._error(handler, 403, "AccessDeniedException", "missing SigV4 signature")
            if not (arn or "").startswith("arn:aws:bedrock-agentcore:"):
                return self._error(handler, 400, "ValidationException", "invalid agentRuntimeArn")
        elif parts.path != "/invocations":
            return self._error(handler, 404, "NotFound", "unknown path")
        sid = headers.get(SESSION_HEADER.lower(), "")
        if len(sid) < 33:
            return self._error(
                handler, 400, "ValidationException", "runtimeSessionId must be at least 33 characters"
            )
        forward = {
            SESSION_HEADER: sid,
            "Content-Type": headers.get("content-type", "application/json"),
            "Accept": headers.get("accept", "*/*"),
        }
        if "traceparent" in headers:
            forward["traceparent"] = headers["traceparent"]
        client = httpx.Client(timeout=httpx.Timeout(5, read=120))
        try:
            with client.stream(
                "POST", self.runtime_url + "/invocations", content=body, headers=forward
            ) as upstream:
                call.status = upstream.status_code
                handler.send_response(upstream.status_code)
                handler.send_header(
                    "Content-Type", upstream.headers.get("content-type", "application/octet-stream")
                )
                handler.send_header(SESSION_HEADER, sid)
                handler.send_header("x-amzn-RequestId", str(uuid.uuid4()))
                handler.send_header("Transfer-Encoding", "chunked")
                handler.end_headers()
                # Record before writing: the client may read the bytes (and the test assert on the
                # record) before this thread runs again after the write.
                for chunk in upstream.iter_raw():
                    if chunk:
                        call.sent += chunk
                        handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        handler.wfile.flush()
                call.complete = True
                handler.wfile.write(b"0\r\n\r\n")
                handler.wfile.flush()
        except (httpx.HTTPError, OSError):
            handler.close_connection = True
        finally:
            client.close()
