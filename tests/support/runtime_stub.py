"""A stand-in agent runtime on loopback for the web app's tests and bench.

It speaks just enough HTTP/1.1 (keep-alive, chunked responses) to answer ``POST /invocations`` and
``GET /ping`` like the real runtime, and is scripted per request through the chat prompt (or a
default script for other actions)::

    frames=1000 interval=0.001 size=200 die_after=5 partial=1 status=503 hold=1 delay=0.5 gate=1 slow_start=1

Each frame is ``id: n\\ndata: {"type":"CUSTOM","name":"stub","value":{"i":n,"t":<time_ns>,…}}\\n\\n`` and
goes out as its own HTTP chunk.

``resume_interrupt`` answers like the runtime — ``RUN_STARTED``, the frames, ``RUN_FINISHED`` — and
is scripted through its ``interrupt_id`` when that contains ``=`` (default
:data:`RESUME_SCRIPT`): ``refuse=INTERRUPT_EXPIRED`` sends a lone ``RUN_ERROR`` with that code,
``fail=MODEL_ERROR`` ends the started run with one, ``interrupt=1`` finishes with the interrupt
outcome; ``agui=1`` gives any action that framing.

Every request is recorded (headers, body, the exact bytes sent, when the connection closed), so
tests can count what reached the runtime and compare hashes.

Run standalone (the bench does): ``python tests/support/runtime_stub.py --port 8099``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StubRequest:
    """One request the stub received, and what it sent back."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    sent: bytearray = field(default_factory=bytearray)
    finished: bool = False
    answered: bool = False
    """The status line went out (``slow_start=1`` holds it until the test sets ``start_gate``)."""
    closed_at: float | None = None
    started_at: float = field(default_factory=time.monotonic)

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body) if self.body else {}

    @property
    def sha256(self) -> str:
        return hashlib.sha256(bytes(self.sent)).hexdigest()


RESUME_SCRIPT = "agui=1 frames=2"
_CODE_WORD = re.compile(r"\b(refuse|fail)=([A-Z_]+)\b")


def script_text(payload: dict[str, Any], default: str) -> str:
    """The script of a request: a chat's prompt, a scripted interrupt id, or ``default``."""
    action = payload.get("action")
    if action == "chat":
        return str(payload.get("prompt") or default)
    if action == "resume_interrupt":
        interrupt_id = str(payload.get("interrupt_id") or "")
        return interrupt_id if "=" in interrupt_id else RESUME_SCRIPT
    return default


def agui_frame(event: dict[str, Any], event_id: int | None = None) -> bytes:
    """One AG-UI SSE frame, encoded the way the runtime's ``ag_ui`` encoder does."""
    from ag_ui.core import RunErrorEvent, RunFinishedEvent, RunStartedEvent, StateSnapshotEvent
    from ag_ui.encoder import EventEncoder

    model = {
        "RUN_STARTED": RunStartedEvent,
        "RUN_FINISHED": RunFinishedEvent,
        "RUN_ERROR": RunErrorEvent,
        "STATE_SNAPSHOT": StateSnapshotEvent,
    }[event["type"]]
    data = EventEncoder().encode(model.model_validate(event)).encode()
    return (f"id: {event_id}\n".encode() if event_id is not None else b"") + data


def parse_script(text: str) -> dict[str, float]:
    """``"frames=3 interval=0.01"`` → ``{"frames": 3.0, "interval": 0.01}`` (unknown words ignored)."""
    script: dict[str, float] = {}
    for word in text.split():
        key, sep, value = word.partition("=")
        if sep:
            try:
                script[key] = float(value)
            except ValueError:
                continue
    return script


def frame(i: int, size: int) -> bytes:
    """One SSE frame with a send timestamp, padded to about ``size`` bytes."""
    value = {"i": i, "t": time.time_ns(), "pad": ""}
    body = json.dumps({"type": "CUSTOM", "name": "stub", "value": value}, separators=(",", ":"))
    pad = max(0, size - len(body) - 20)
    value["pad"] = "x" * pad
    body = json.dumps({"type": "CUSTOM", "name": "stub", "value": value}, separators=(",", ":"))
    return f"id: {i}\ndata: {body}\n\n".encode()


class StubRuntime:
    """The stub server; ``start()`` runs it on a background thread's event loop."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, default_script: str = "frames=3", record: bool = True
    ) -> None:
        self.host, self.port = host, port
        self.record = record
        self.default_script = default_script
        self.requests: list[StubRequest] = []
        self.canvases: dict[str, dict[str, Any]] = {}
        """Session id → canvas: a ``watch`` for that session answers RUN_STARTED, a STATE_SNAPSHOT
        of it and RUN_FINISHED (what the web app reads when it saves a session's canvas)."""
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.gate = threading.Event()
        """``gate=1``: after its first frame a stream waits (up to 10 s) until the test sets this —
        a barrier that proves a frame reached the client while the upstream still held the rest."""
        self.start_gate = threading.Event()
        """``slow_start=1``: the response's status line waits (up to 10 s) until the test sets this —
        a runtime slow to answer (a cold AgentCore microVM)."""

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def invocations(self) -> list[StubRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == "/invocations"]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.canvases.clear()
        self.gate.clear()
        self.start_gate.clear()

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> StubRuntime:
        self._thread = threading.Thread(target=self._run, name="runtime-stub", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("runtime stub did not start")
        return self

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self._shutdown())
            self._loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _serve(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, self.host, self.port, backlog=4096, limit=1 << 20
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._loop is None:
            return

        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    # -- HTTP ------------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0"))
                body = await reader.readexactly(length) if length else b""
                request = StubRequest(method, path.split("?")[0], headers, body)
                if self.record:
                    with self._lock:
                        self.requests.append(request)
                keep = await self._respond(request, reader, writer)
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _respond(
        self, request: StubRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        if request.method == "GET" and request.path == "/ping":
            await self._json(writer, 200, {"status": "Healthy", "time_of_last_update": int(time.time())})
            return True
        if request.method != "POST" or request.path != "/invocations":
            await self._json(writer, 404, {"error": {"code": "NOT_FOUND", "message": "no such path"}})
            return True
        payload = request.payload
        canvas = self.canvases.get(str(payload.get("session_id")))
        if payload.get("action") == "watch" and canvas is not None:
            run = {"threadId": str(payload["session_id"]), "runId": f"run-{time.monotonic_ns()}"}
            snapshot = {"phase": "refinement", "canvas": canvas, "version": 1}
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            for event in (
                {"type": "RUN_STARTED", **run},
                {"type": "STATE_SNAPSHOT", "snapshot": snapshot},
                {"type": "RUN_FINISHED", **run, "outcome": {"type": "success"}},
            ):
                await self._chunk(writer, agui_frame(event), request)
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            request.finished = True
            return True
        text = script_text(payload, self.default_script)
        script = parse_script(text)
        codes = dict(_CODE_WORD.findall(text))
        agui = bool(script.get("agui")) or payload.get("action") == "resume_interrupt"
        if script.get("delay"):
            await asyncio.sleep(script["delay"])
        if script.get("slow_start"):
            await asyncio.to_thread(self.start_gate.wait, 10)
        request.answered = True
        status = int(script.get("status", 200))
        if status != 200:
            code = codes.get("refuse", "STUB_REFUSED")
            await self._json(writer, status, {"error": {"code": code, "message": "stub refused"}})
            return True
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"X-Stub-Secret: upstream-only\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        frames, interval, size = (
            int(script.get("frames", 3)),
            script.get("interval", 0.0),
            int(script.get("size", 120)),
        )
        die_after = int(script.get("die_after", -1))
        run = {"threadId": str(payload.get("session_id", "t")), "runId": f"run-{time.monotonic_ns()}"}
        try:
            if agui and "refuse" in codes:
                await self._chunk(
                    writer,
                    agui_frame({"type": "RUN_ERROR", "message": "refused", "code": codes["refuse"]}),
                    request,
                )
                frames = 0
            elif agui:
                await self._chunk(writer, agui_frame({"type": "RUN_STARTED", **run}), request)
            for i in range(frames):
                if i == die_after:
                    if script.get("partial"):
                        data = frame(i, size)[: size // 2]
                        await self._chunk(writer, data, request)
                    writer.transport.abort()
                    request.closed_at = time.monotonic()
                    return False
                await self._chunk(writer, frame(i, size), request)
                if i == 0 and script.get("gate"):
                    await asyncio.to_thread(self.gate.wait, 10)
                if interval:
                    await asyncio.sleep(interval)
            if script.get("hold"):
                # Stay open and silent until the client goes away.
                while not reader.at_eof():
                    try:
                        await asyncio.wait_for(reader.read(1), 0.05)
                    except TimeoutError:
                        continue
                request.closed_at = time.monotonic()
                return False
            if agui and "refuse" not in codes:
                if "fail" in codes:
                    terminal: dict[str, Any] = {
                        "type": "RUN_ERROR",
                        "message": "failed",
                        "code": codes["fail"],
                    }
                elif script.get("interrupt"):
                    item = {
                        "id": f"int-{time.monotonic_ns()}",
                        "reason": "stub",
                        "expiresAt": "2099-01-01T00:00:00Z",
                    }
                    terminal = {
                        "type": "RUN_FINISHED",
                        **run,
                        "outcome": {"type": "interrupt", "interrupts": [item]},
                    }
                else:
                    terminal = {"type": "RUN_FINISHED", **run, "outcome": {"type": "success"}}
                await self._chunk(writer, agui_frame(terminal, frames), request)
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            request.finished = True
        except ConnectionError:
            request.closed_at = time.monotonic()
            return False
        return True

    async def _chunk(self, writer: asyncio.StreamWriter, data: bytes, request: StubRequest) -> None:
        if self.record:  # recorded before the write: a client may read the frame before this line runs
            request.sent += data
        writer.write(b"%x\r\n%s\r\n" % (len(data), data))
        await writer.drain()

    @staticmethod
    async def _json(writer: asyncio.StreamWriter, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
        await writer.drain()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--script", default="frames=3", help="default script for non-chat actions")
    args = parser.parse_args()
    stub = StubRuntime(args.host, args.port, args.script, record=False)

    async def serve() -> None:
        await stub._serve()
        print(f"stub listening on {stub.url}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
