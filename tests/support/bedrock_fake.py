"""A loopback stand-in for Bedrock Runtime ``ConverseStream`` and ``Converse``, at the wire.

It answers the way the service does (botocore's ``bedrock-runtime`` service model): ``POST
/model/{modelId}/converse-stream`` streams an ``application/vnd.amazon.eventstream`` body — binary
frames with a prelude, typed headers, a JSON payload and CRC32 checksums — that botocore's own
``EventStreamBuffer`` parses; ``POST /model/{modelId}/converse`` answers JSON. Errors before the
stream are HTTP errors with ``x-amzn-ErrorType`` and ``{"message"}``; errors during the stream are
``:message-type: exception`` frames (``throttlingException``, ``modelStreamErrorException``…),
which botocore raises as ``EventStreamError``.

Answers are Claude-shaped: by default the in-package offline planner decides *what* to say (so a
run on the Bedrock path produces the same AG-UI sequence as offline), and the fake says it like
Claude on Bedrock — text in small deltas, each tool use's input streamed as several partial JSON
pieces, ``stopReason`` ``end_turn``/``tool_use``/``max_tokens``, usage metadata with input tokens
counted from the request. A test queues :class:`Fault` objects to make the next matching request
fail in a chosen way, and reads :attr:`BedrockFake.requests` to check what was sent.
"""

from __future__ import annotations

import asyncio
import binascii
import http.server
import json
import struct
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

__all__ = [
    "BedrockFake",
    "bedrock_refusal",
    "Fault",
    "Request",
    "encode_event",
    "encode_exception",
    "encode_message",
    "estimate_tokens",
]

# --- the event-stream encoding (the "vnd.amazon.eventstream" binary framing) --------------------

_STRING = 7  # header value type: UTF-8 string with a 2-byte length


def _headers(headers: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        out += struct.pack(">B", len(raw_name)) + raw_name
        out += struct.pack(">BH", _STRING, len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude (lengths + CRC), headers, payload, message CRC."""
    header_bytes = _headers(headers)
    total = 12 + len(header_bytes) + len(payload) + 4
    prelude = struct.pack(">II", total, len(header_bytes))
    prelude += struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF)
    body = prelude + header_bytes + payload
    return body + struct.pack(">I", binascii.crc32(body) & 0xFFFFFFFF)


def encode_event(event_type: str, payload: dict[str, Any]) -> bytes:
    """An ``event`` message (``messageStart``, ``contentBlockDelta``, …)."""
    return encode_message(
        {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
        json.dumps(payload).encode(),
    )


def encode_exception(exception_type: str, message: str) -> bytes:
    """An ``exception`` message, as the service sends an error in the middle of a stream."""
    return encode_message(
        {
            ":exception-type": exception_type,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        json.dumps({"message": message}).encode(),
    )


# --- requests and scripted faults --------------------------------------------------------------


def estimate_tokens(body: dict[str, Any]) -> int:
    """Input tokens of a request as this fake counts them: JSON characters / 4 (no cache credit)."""
    parts = {k: body.get(k) for k in ("system", "messages", "toolConfig")}
    return len(json.dumps(parts, separators=(",", ":"))) // 4


@dataclass
class Request:
    """One call the fake received."""

    operation: str
    model_id: str
    body: dict[str, Any]
    role: str
    input_tokens: int
    answered: str = ""
    """``ok``; ``refused`` (a conversation Bedrock would reject: ``ValidationException``); or the
    kind of the fault that answered it."""

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    @property
    def system_text(self) -> str:
        return "\n".join(b["text"] for b in self.body.get("system") or [] if "text" in b)

    @property
    def tool_names(self) -> list[str]:
        tools = (self.body.get("toolConfig") or {}).get("tools") or []
        return [t["toolSpec"]["name"] for t in tools if "toolSpec" in t]


@dataclass
class Fault:
    """How the next matching request fails.

    Attributes:
        kind: ``throttle`` (HTTP 429 before the stream, or mid-stream with ``after_chars``),
            ``access_denied`` (403), ``too_long`` (400 "Input is too long for requested model"),
            ``stream_error`` (``modelStreamErrorException`` mid-stream), ``max_tokens`` (the answer
            is cut and ends with ``stopReason: max_tokens``), ``hang`` (stream ``after_chars`` of
            text, then wait for ``gate`` before going on normally).
        role: Only requests of this role match: ``orchestrator`` or ``builder`` (told apart by the
            canvas tools they offer), else ``router`` (also a summarising call, which has no tools).
        after_chars: For mid-stream faults: how much of the answer's text streams first.
        gate: For ``hang``: released by the test.
        times: How many requests this fault answers.
    """

    kind: str
    role: str | None = None
    after_chars: int | None = None
    gate: threading.Event | None = None
    times: int = 1
    skip: int = 0
    """Matching requests to let through before this fault strikes."""
    reached: threading.Event = field(default_factory=threading.Event)
    """Set when a request hit this fault (for a ``hang``: once the partial text was sent)."""


Answer = tuple[str | None, list[tuple[str, dict[str, Any]]]]
Responder = Callable[[Request], Answer]


def bedrock_refusal(messages: list[dict[str, Any]]) -> str | None:
    """The ``ValidationException`` message Bedrock gives a malformed conversation, else ``None``."""
    if not messages or messages[0].get("role") != "user":
        return "A conversation must start with a user message."
    for previous, message in zip(messages, messages[1:], strict=False):
        if previous["role"] == message["role"]:
            return "A conversation must alternate between user and assistant roles."
    for index, message in enumerate(messages):
        if not message.get("content"):
            return f"The content field in the Message object at messages.{index} is empty."
        for block in message.get("content") or []:
            if "text" in block and not block["text"].strip():
                return f"messages.{index}: text content blocks must be non-empty"
        uses = {b["toolUse"]["toolUseId"] for b in message.get("content") or [] if "toolUse" in b}
        if uses and index + 1 < len(messages):
            answered = {
                b["toolResult"]["toolUseId"]
                for b in messages[index + 1].get("content") or []
                if "toolResult" in b
            }
            if not uses <= answered:
                missing = ", ".join(sorted(uses - answered))
                where = f"messages.{index + 1}.content"
                return f"Expected toolResult blocks at {where} for the following Ids: {missing}"
    return None


def _role_of(body: dict[str, Any]) -> str:
    names = {t.get("toolSpec", {}).get("name") for t in (body.get("toolConfig") or {}).get("tools") or []}
    if "set_playbook_outline" in names or "build_modules" in names:
        return "orchestrator"  # (it edits tasks too: add_tasks, set_module_tasks)
    if "add_tasks" in names:
        return "builder"
    return "router"


def offline_responder(request: Request) -> Answer:
    """What the in-package offline planner would answer (the default script)."""
    from agent_runtime.models.offline_model import OfflineModel

    role = request.role
    body = request.body
    if role == "router" and "outputConfig" in body:
        from agent_runtime.models import _messages as conv
        from agent_runtime.models.offline import classify

        return json.dumps(classify(conv.first_prompt(request.messages))), []
    specs = [
        {"name": t["toolSpec"]["name"], "description": "", "inputSchema": t["toolSpec"]["inputSchema"]}
        for t in (body.get("toolConfig") or {}).get("tools") or []
        if "toolSpec" in t
    ]

    async def collect() -> Answer:
        model = OfflineModel(role)
        text: list[str] = []
        calls: list[tuple[str, dict[str, Any]]] = []
        name, buffer = None, ""
        async for event in model.stream(request.messages, specs, request.system_text):  # type: ignore[arg-type]
            start = event.get("contentBlockStart", {}).get("start", {}).get("toolUse")
            if start:
                name, buffer = start["name"], ""
            delta = event.get("contentBlockDelta", {}).get("delta", {})
            if "text" in delta:
                text.append(delta["text"])
            if "toolUse" in delta:
                buffer += delta["toolUse"]["input"]
            if "contentBlockStop" in event and name is not None:
                calls.append((name, json.loads(buffer or "{}")))
                name = None
        return ("".join(text) or None), calls

    return asyncio.run(collect())


def _split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class BedrockFake:
    """``start()`` → serves on :attr:`url` in a thread (use as a context manager)."""

    def __init__(self, responder: Responder | None = None, *, text_chunk: int = 6) -> None:
        self.responder = responder or offline_responder
        self.text_chunk = text_chunk
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                fake._handle(self)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> BedrockFake:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> BedrockFake:
        self._thread.start()
        return self

    def stop(self) -> None:
        for fault in self.faults:
            if fault.gate is not None:
                fault.gate.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def add(self, fault: Fault) -> Fault:
        """Queue a fault (faults match in the order they were added)."""
        with self._lock:
            self.faults.append(fault)
        return fault

    def by_role(self, role: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.role == role]

    # ------------------------------------------------------------------ serving

    def _take_fault(self, role: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and (fault.role is None or fault.role == role):
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    fault.times -= 1
                    return fault
        return None

    def _handle(self, handler: Any) -> None:
        length = int(handler.headers.get("Content-Length", "0"))
        raw = handler.rfile.read(length) if length else b"{}"
        segments = handler.path.split("?")[0].split("/")
        if len(segments) != 4 or segments[1] != "model" or segments[3] not in ("converse", "converse-stream"):
            return self._error(handler, 404, "UnknownOperationException", "unknown operation")
        if not handler.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256"):
            return self._error(handler, 403, "AccessDeniedException", "missing SigV4 signature")
        body = json.loads(raw or b"{}")
        model_id = unquote(segments[2])
        operation = "ConverseStream" if segments[3] == "converse-stream" else "Converse"
        role = _role_of(body)
        request = Request(operation, model_id, body, role, estimate_tokens(body))
        with self._lock:
            self.requests.append(request)
        refusal = bedrock_refusal(request.messages)
        tool_blocks = any("toolUse" in b or "toolResult" in b for m in request.messages for b in m["content"])
        if refusal is None and tool_blocks and "toolConfig" not in body:
            refusal = "The toolConfig field must be defined when using toolUse and toolResult content blocks."
        if refusal is not None:
            request.answered = "refused"
            return self._error(handler, 400, "ValidationException", refusal)
        fault = self._take_fault(role)
        request.answered = fault.kind if fault else "ok"
        if fault is not None:
            if fault.kind == "access_denied":
                fault.reached.set()
                return self._error(
                    handler,
                    403,
                    "AccessDeniedException",
                    "You don't have access to the model with the specified model ID.",
                )
            if fault.kind == "too_long":
                fault.reached.set()
                return self._error(
                    handler,
                    400,
                    "ValidationException",
                    "Input is too long for requested model.",
                )
            if fault.kind == "throttle" and fault.after_chars is None:
                fault.reached.set()
                return self._error(
                    handler, 429, "ThrottlingException", "Too many requests, please wait before trying again."
                )
        text, calls = self.responder(request)
        if operation == "Converse":
            return self._converse(handler, request, text, calls)
        self._stream(handler, request, text, calls, fault)

    def _error(self, handler: Any, status: int, error_type: str, message: str) -> None:
        body = json.dumps({"message": message}).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("x-amzn-ErrorType", f"{error_type}:http://internal.amazon.com/coral/")
        handler.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        handler.end_headers()
        handler.wfile.write(body)

    def _usage(self, request: Request, output_chars: int) -> dict[str, Any]:
        output = max(1, output_chars // 4)
        return {
            "inputTokens": request.input_tokens,
            "outputTokens": output,
            "totalTokens": request.input_tokens + output,
        }

    def _converse(
        self, handler: Any, request: Request, text: str | None, calls: list[tuple[str, dict[str, Any]]]
    ) -> None:
        content: list[dict[str, Any]] = [{"text": text}] if text else []
        content += [
            {"toolUse": {"toolUseId": f"tooluse_{uuid.uuid4().hex[:22]}", "name": n, "input": a}}
            for n, a in calls
        ]
        out = {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": "tool_use" if calls else "end_turn",
            "usage": self._usage(request, len(json.dumps(content))),
            "metrics": {"latencyMs": 5},
        }
        payload = json.dumps(out).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        handler.end_headers()
        handler.wfile.write(payload)

    def frames(
        self, request: Request, text: str | None, calls: list[tuple[str, dict[str, Any]]], fault: Fault | None
    ) -> Iterator[bytes | Fault]:
        """The stream's frames; a :class:`Fault` item marks where a mid-stream fault strikes."""
        stop = "tool_use" if calls else "end_turn"
        if fault is not None and fault.kind == "max_tokens":
            text = (text or "")[: fault.after_chars] if fault.after_chars is not None else text
            calls, stop = [], "max_tokens"
            fault.reached.set()
        strike = fault if fault is not None and fault.kind in ("throttle", "stream_error", "hang") else None
        strike_at = strike.after_chars if strike is not None else None
        yield encode_event("messageStart", {"role": "assistant"})
        index = sent = output_chars = 0
        for piece in _split(text, self.text_chunk) if text else []:
            if strike is not None and strike_at is not None and sent >= strike_at:
                yield strike
                if strike.kind != "hang":
                    return
                strike = None
            yield encode_event("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}})
            sent += len(piece)
        if strike is not None:
            yield strike
            if strike.kind != "hang":
                return
        if text:
            yield encode_event("contentBlockStop", {"contentBlockIndex": index})
            output_chars += len(text)
            index += 1
        for name, args in calls:
            tool_use_id = f"tooluse_{uuid.uuid4().hex[:22]}"
            yield encode_event(
                "contentBlockStart",
                {"contentBlockIndex": index, "start": {"toolUse": {"toolUseId": tool_use_id, "name": name}}},
            )
            payload = json.dumps(args, ensure_ascii=False)
            for piece in _split(payload, max(8, len(payload) // 3 + 1)):
                yield encode_event(
                    "contentBlockDelta", {"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}}
                )
            yield encode_event("contentBlockStop", {"contentBlockIndex": index})
            output_chars += len(payload)
            index += 1
        yield encode_event("messageStop", {"stopReason": stop})
        yield encode_event(
            "metadata", {"usage": self._usage(request, output_chars), "metrics": {"latencyMs": 5}}
        )

    def _stream(
        self,
        handler: Any,
        request: Request,
        text: str | None,
        calls: list[tuple[str, dict[str, Any]]],
        fault: Fault | None,
    ) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/vnd.amazon.eventstream")
        handler.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()

        def write(chunk: bytes) -> None:
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            handler.wfile.flush()

        try:
            for item in self.frames(request, text, calls, fault):
                if isinstance(item, Fault):
                    item.reached.set()
                    if item.kind == "hang":
                        assert item.gate is not None
                        item.gate.wait(30)
                        continue
                    if item.kind == "throttle":
                        write(encode_exception("throttlingException", "Too many tokens, please wait."))
                    elif item.kind == "stream_error":
                        write(
                            encode_exception(
                                "modelStreamErrorException", "The model stream failed; retry the request."
                            )
                        )
                    continue
                write(item)
            write(b"")
        except OSError:
            handler.close_connection = True
