"""Start the real agent runtime (``python -m agent_runtime``) on a free loopback port and talk to it.

Used by the runtime's integration tests and its benchmark; the web app's tests can reuse
:func:`start_runtime` to put the real runtime behind the web app.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from agent_runtime.contract import SESSION_HEADER, TokenCodec
from tests.support.agents_config import agents_config_without_mcp
from tests.support.sse import Frame, parse_frames

__all__ = ["RUNTIME_SECRET", "RuntimeProcess", "SseReader", "free_port", "start_runtime"]

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_SECRET = "integration-test-secret-" + "x" * 24


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SseReader:
    """Incrementally splits a streamed SSE body into frames as bytes arrive."""

    def __init__(self) -> None:
        self._buffer = ""
        self.frames: list[Frame] = []
        self.comments = 0

    def feed(self, chunk: str) -> list[Frame]:
        """Add text; return the frames completed by it."""
        self._buffer += chunk.replace("\r\n", "\n")
        done: list[Frame] = []
        while "\n\n" in self._buffer:
            block, self._buffer = self._buffer.split("\n\n", 1)
            if block.startswith(":"):
                self.comments += 1
            done.extend(parse_frames(block + "\n\n"))
        self.frames.extend(done)
        return done


@dataclass
class RuntimeProcess:
    """A running runtime and a small client for it."""

    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    codec: TokenCodec = field(default_factory=lambda: TokenCodec([RUNTIME_SECRET]))
    http: httpx.Client = field(default_factory=httpx.Client)
    """One pooled client for whole-response requests (a new client per request costs ~0.3 s)."""

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ tokens and bodies

    def new_session(self, *, uid: int = 1, vid: int = 1, typ: str = "copilot") -> tuple[str, str]:
        """A fresh ``(session_id, token)``."""
        sid = str(uuid.uuid4())
        return sid, self.codec.mint(sid=sid, uid=uid, vid=vid, typ=typ)

    def body(self, sid: str, token: str, action: str = "chat", **extra: Any) -> dict[str, Any]:
        """An invocation payload."""
        return {"session_id": sid, "token": token, "action": action, **extra}

    # ------------------------------------------------------------------ HTTP

    def invoke(
        self,
        body: Any,
        *,
        session_id: str | None,
        content: bytes | None = None,
        timeout: float = 30.0,
    ) -> tuple[int, list[Frame], bytes]:
        """POST /invocations and read the whole response: ``(status, frames, raw)``."""
        headers = {"Content-Type": "application/json"}
        if session_id is not None:
            headers[SESSION_HEADER] = session_id
        kwargs: dict[str, Any] = {"content": content} if content is not None else {"json": body}
        response = self.http.post(f"{self.url}/invocations", headers=headers, timeout=timeout, **kwargs)
        frames = (
            parse_frames(response.content)
            if response.headers.get("content-type", "").startswith("text/event-stream")
            else []
        )
        return response.status_code, frames, response.content

    def chat(self, sid: str, token: str, prompt: str) -> list[Frame]:
        """One chat turn, read to the end."""
        status, frames, raw = self.invoke(self.body(sid, token, "chat", prompt=prompt), session_id=sid)
        assert status == 200, raw
        return frames

    def action(self, sid: str, token: str, action: str, **extra: Any) -> list[Frame]:
        """An out-of-band action, read to the end."""
        status, frames, raw = self.invoke(self.body(sid, token, action, **extra), session_id=sid)
        assert status == 200, raw
        return frames

    @contextlib.contextmanager
    def stream(
        self, body: dict[str, Any], *, session_id: str, timeout: float = 60.0
    ) -> Iterator[Iterator[Frame]]:
        """Stream an invocation; yields an iterator of frames as they arrive."""
        headers = {SESSION_HEADER: session_id}
        with httpx.Client(timeout=timeout) as client:
            with client.stream("POST", f"{self.url}/invocations", json=body, headers=headers) as response:
                assert response.status_code == 200

                def frames() -> Iterator[Frame]:
                    reader = SseReader()
                    for chunk in response.iter_text():
                        yield from reader.feed(chunk)

                yield frames()

    def stream_in_thread(self, body: dict[str, Any], *, session_id: str) -> BackgroundStream:
        """Read a stream on a thread; frames arrive in :attr:`BackgroundStream.frames`."""
        background = BackgroundStream(self, body, session_id)
        background.start()
        return background

    def ping(self) -> str:
        """``/ping`` status."""
        return str(httpx.get(f"{self.url}/ping", timeout=5).json()["status"])

    def stats(self) -> dict[str, Any]:
        """``/_runtime/stats``."""
        return dict(httpx.get(f"{self.url}/_runtime/stats", timeout=5).json())

    def log(self) -> str:
        """The process's output so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """SIGKILL (and wait): no goodbye, no last write — a crash, or supervisord's hard stop."""
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        """Terminate the process (and wait)."""
        self.http.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


class BackgroundStream:
    """A stream read on a background thread, with events to wait on."""

    def __init__(self, runtime: RuntimeProcess, body: dict[str, Any], session_id: str) -> None:
        self._runtime = runtime
        self._body = body
        self._sid = session_id
        self.frames: list[Frame] = []
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        """Start reading."""
        self._thread.start()

    def _run(self) -> None:
        try:
            with self._runtime.stream(self._body, session_id=self._sid) as frames:
                for frame in frames:
                    with self._changed:
                        self.frames.append(frame)
                        self._changed.notify_all()
        except BaseException as exc:  # surfaced by wait_done
            self.error = exc
        finally:
            self.finished.set()
            with self._changed:
                self._changed.notify_all()

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> list[Frame]:
        """Block until ``predicate(frames)`` is true (or the stream ended); return the frames."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.frames):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.finished.is_set():
                    break
                self._changed.wait(remaining)
            assert predicate(self.frames), f"condition not met; got {[f.type for f in self.frames][-10:]}"
            return list(self.frames)

    def wait_done(self, timeout: float = 60.0) -> list[Frame]:
        """Block until the stream ended; return every frame."""
        assert self.finished.wait(timeout), "stream did not end"
        if self.error is not None:
            raise self.error
        return list(self.frames)


READY_TIMEOUT = 120.0
"""How long a runtime may take to answer ``/ping``: a bound for a hung start, not a speed check.
A cold start is 1.1-1.6 s of CPU, nearly all imports; with 20 busy processes on this 2-core machine
it took 16 s (34 s before the MCP SDK was imported lazily), and five fresh-clone suites side by side
in their browser stage load the machine about that much (a 30 s bound failed a restart there once)."""


@contextlib.contextmanager
def start_runtime(
    extra_env: Mapping[str, str] | None = None,
    *,
    ready_timeout: float = READY_TIMEOUT,
    port: int | None = None,
) -> Iterator[RuntimeProcess]:
    """Run ``python -m agent_runtime`` on a free loopback port until the block exits.

    Unless ``extra_env`` names a ``DATA_DIR``, the runtime gets a fresh temporary data folder
    (its file session store), removed afterwards; pass the same ``DATA_DIR`` to several runtimes
    to make them share sessions. ``port``: listen there (a restart behind a web app that knows
    the old address) instead of on a free port. ``ready_timeout``: how long to wait for ``/ping``
    (the process exiting fails at once).
    """
    port = port or free_port()
    own_data = None
    if not (extra_env and "DATA_DIR" in extra_env):
        own_data = tempfile.mkdtemp(prefix="agent-runtime-data-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "OTEL_"))}
    env.update(
        {
            "AGENT_SIGNING_SECRET": RUNTIME_SECRET,
            "APP_ENV": "development",  # a test secret; production refuses it
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "MODEL_PROVIDER": "offline",
            "OFFLINE_MODEL_LATENCY_MS": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
            **({"DATA_DIR": own_data} if own_data else {}),
        }
    )
    env.update(extra_env or {})
    if "AGENTS_CONFIG" not in env:  # the library's own tests pass the shipped file
        env["AGENTS_CONFIG"] = str(agents_config_without_mcp(Path(own_data or tempfile.mkdtemp())))
    handle, log_name = tempfile.mkstemp(prefix="agent-runtime-", suffix=".log")
    log_file = os.fdopen(handle, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent_runtime"], cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
    )
    runtime = RuntimeProcess(port=port, proc=proc, log_path=Path(log_name))
    try:
        _wait_ready(runtime, ready_timeout)
        yield runtime
    finally:
        runtime.stop()
        log_file.close()
        Path(log_name).unlink(missing_ok=True)
        if own_data:
            shutil.rmtree(own_data, ignore_errors=True)


def _wait_ready(runtime: RuntimeProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.02
    while time.monotonic() < deadline:
        if runtime.proc.poll() is not None:
            raise RuntimeError(f"runtime exited with {runtime.proc.returncode}: {runtime.log()}")
        try:
            if httpx.get(f"{runtime.url}/ping", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
    raise RuntimeError(f"runtime did not answer /ping within {timeout}s: {runtime.log()}")
