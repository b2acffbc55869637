"""Stream openings taken a few at a time, in arrival order (the gevent worker's opening gate).

Opening a stream (sign-in, CSRF, token, the lease statement, the upstream request) costs a few
milliseconds of CPU; relaying a frame of an open stream costs about a tenth of one. Under gevent
every request is a greenlet on one loop, so a rush of hundreds of openings made each turn of the
loop hundreds of openings long, and frames of streams already open waited behind them (frame p99
26–40 ms at 250–500 streams against nginx's 3–7 ms, ``bench/webapp_bench.py``). Past this gate at
most ``limit`` openings run at once; the others wait their turn (gevent's semaphore wakes waiters
in order), and a frame waits for at most a few openings' slices. An opening let in starts when the
loop is next idle (``wait_idle``), so frames already waiting are relayed before its largest slice
(sign-in to the lease statement, about 1 ms) runs: frame p99 at 500 streams 17 → 8 ms, and first
byte p99 1.5 → 1.0 s, in the same run. And one opening starts per idle turn: openings that waited
for the same idle turn ran back to back (up to ``limit`` × 1 ms), and the stream whose runtime had
just answered waited behind them all for its first frame (first frames' p99 13–32 ms at 250–500
streams, while the other frames' was 2–4 ms); taken one per turn, a first frame waits for one
opening at most (first frames' p99 3–4.5 ms; frame p99 at 500 streams 6–7 → 1.8–2.7 ms, same run).
The ASGI edge does the same with its opening threads (:mod:`webapp.edge`).

Only the run proxy's streaming POSTs pass through the gate; every other request goes straight on.
An opening's body (a small JSON document, at most its path's limit + 1 byte) is read before it
takes a slot, as the ASGI edge reads it on its loop: a client trickling its body in waits on its
own socket and holds no slot. A slot is held for the opening's own work (sign-in, CSRF, token, the
lease statement) and given back before the runtime is asked (:func:`leave_gate`): a runtime slow to
answer — a cold AgentCore microVM takes seconds — must not hold the slots every other opening (a
``stop`` included) waits for. The relay that follows holds none.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterable
from typing import Any

from .security import body_limit

STREAM_PREFIX = "/api/agent/run"
"""The run proxy's paths: ``/api/agent/run`` and ``/api/agent/run/<sid>/<action>``."""
SLOT_KEY = "webapp.opening_slot"
"""The WSGI environ key of a gated opening's :func:`leave_gate` callback."""

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def is_stream_opening(wsgi_environ: dict[str, Any]) -> bool:
    """Whether a request is one of the run proxy's streaming POSTs."""
    path = str(wsgi_environ.get("PATH_INFO", ""))
    return wsgi_environ.get("REQUEST_METHOD") == "POST" and path.startswith(STREAM_PREFIX)


def gate_stream_openings(
    wsgi_app: WsgiApp, limit: int, *, wait_idle: Callable[[], object] | None = None
) -> WsgiApp:
    """``wsgi_app`` with at most ``limit`` stream openings running in it at once.

    With ``wait_idle`` (gevent's :func:`gevent.idle`), an opening that has its slot starts its work
    only when the loop has nothing else ready, one opening per idle turn: frames already waiting on
    open streams go first, and a frame that becomes ready meanwhile waits for one opening at most.

    Raises:
        ValueError: ``limit`` is below 1.
    """
    if limit < 1:
        raise ValueError(f"the opening gate needs at least one slot, got {limit}")
    slots = threading.BoundedSemaphore(limit)  # gevent's, once gevent has patched the process
    # The line: only its head waits for a slot (so slots go in arrival order) and then for an idle
    # loop (so one opening starts per idle turn); it leaves the line as its work starts.
    line = threading.Lock()

    def gated(wsgi_environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not is_stream_opening(wsgi_environ):
            return wsgi_app(wsgi_environ, start_response)
        read_body_first(wsgi_environ)
        left = False

        def leave() -> None:
            nonlocal left
            if not left:
                left = True
                slots.release()

        with line:
            slots.acquire()
            wsgi_environ[SLOT_KEY] = leave
            try:
                if wait_idle is not None:
                    wait_idle()  # frames already waiting go first, then this opening alone
            except BaseException:
                leave()
                raise
        try:
            return wsgi_app(wsgi_environ, start_response)
        finally:
            leave()

    gated.slots = slots  # type: ignore[attr-defined]
    return gated


def read_body_first(wsgi_environ: dict[str, Any]) -> None:
    """Receive an opening's body now, into memory (at most its path's limit + 1 byte).

    A declared length over the limit is not read: the app refuses it (413) without reading. A
    chunked body is read to one byte past the limit, so the app still tells "too large" from "at the
    limit". A body cut short stays short, and the app answers it as before.
    """
    limit = body_limit(str(wsgi_environ.get("PATH_INFO", "")))
    if str(wsgi_environ.get("CONTENT_LENGTH") or "").strip():
        read_declared_body(wsgi_environ, limit)
    elif wsgi_environ.get("wsgi.input_terminated"):
        wsgi_environ["wsgi.input"] = io.BytesIO(wsgi_environ["wsgi.input"].read(limit + 1))


def read_declared_body(wsgi_environ: dict[str, Any], limit: int) -> bytes | None:
    """The whole body when its declared length is within ``limit``, else None.

    A body within the limit is read into memory and put back as ``wsgi.input``, so whoever reads it
    next reads the same bytes. A body cut short (the client hung up) is put back as it came, and
    None is answered. A missing, malformed or too large length is not read at all. The gate and the
    express lane (:mod:`webapp.agent.express`) both read through here.
    """
    declared = str(wsgi_environ.get("CONTENT_LENGTH") or "").strip()
    if not declared.isdigit() or int(declared) > limit:
        return None
    raw = wsgi_environ["wsgi.input"].read(int(declared)) if int(declared) else b""
    wsgi_environ["wsgi.input"] = io.BytesIO(raw)
    return raw if len(raw) == int(declared) else None


def leave_gate(wsgi_environ: dict[str, Any]) -> None:
    """Give this opening's slot back now (before waiting on the runtime); once only, any server."""
    leave = wsgi_environ.get(SLOT_KEY)
    if leave is not None:
        leave()
