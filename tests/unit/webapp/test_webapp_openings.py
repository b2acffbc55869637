"""The gevent worker's opening gate: at most N stream openings run at once, in arrival order; every
other request goes straight on; a slot is given back however the opening ends, and before the
opening waits on the runtime."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from agent_runtime.contract import Limits
from webapp.__main__ import DEFAULT_OPENING_GREENLETS, opening_greenlets
from webapp.openings import (
    gate_stream_openings,
    is_stream_opening,
    leave_gate,
    read_body_first,
    read_declared_body,
)

ROOT = Path(__file__).resolve().parents[3]


def environ(method: str, path: str) -> dict[str, Any]:
    return {"REQUEST_METHOD": method, "PATH_INFO": path}


class HeldApp:
    """A WSGI app whose every call waits until the test lets that path through."""

    def __init__(self) -> None:
        self.inside: list[str] = []
        self.entered = threading.Condition()
        self.release: dict[str, threading.Event] = {}

    def __call__(self, env: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = env["PATH_INFO"]
        with self.entered:
            self.inside.append(path)
            self.entered.notify_all()
        self.release.setdefault(path, threading.Event()).wait(10)
        with self.entered:
            self.inside.remove(path)
        if path.endswith("/boom"):
            raise RuntimeError("the opening failed")
        return [path.encode()]

    def wait_inside(self, *paths: str) -> None:
        with self.entered:
            assert self.entered.wait_for(lambda: all(p in self.inside for p in paths), 10), self.inside


def call(app: Any, env: dict[str, Any], results: list[Any]) -> threading.Thread:
    def run() -> None:
        try:
            results.append(list(app(env, lambda *a: None)))
        except RuntimeError as exc:
            results.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_only_the_run_proxys_streaming_posts_are_openings() -> None:
    assert is_stream_opening(environ("POST", "/api/agent/run"))
    assert is_stream_opening(environ("POST", "/api/agent/run/abc/watch"))
    assert not is_stream_opening(environ("GET", "/api/agent/run"))
    assert not is_stream_opening(environ("POST", "/api/agent/copilot/session"))
    assert not is_stream_opening(environ("POST", "/login"))


def test_at_most_n_openings_run_and_the_next_enters_when_one_answers() -> None:
    held = HeldApp()
    gated = gate_stream_openings(held, 2)
    results: list[Any] = []
    threads = [call(gated, environ("POST", f"/api/agent/run/s{i}/watch"), results) for i in range(2)]
    held.wait_inside("/api/agent/run/s0/watch", "/api/agent/run/s1/watch")
    threads.append(call(gated, environ("POST", "/api/agent/run/s2/watch"), results))
    # the third waits at the gate (both slots held): no third opening inside the app
    assert not gated.slots.acquire(blocking=False)  # type: ignore[attr-defined]
    assert held.inside == ["/api/agent/run/s0/watch", "/api/agent/run/s1/watch"]
    # a page, a session mint or sign-in does not wait for a slot
    other: list[Any] = []
    held.release["/api/agent/copilot/session"] = threading.Event()
    held.release["/api/agent/copilot/session"].set()
    call(gated, environ("POST", "/api/agent/copilot/session"), other).join(10)
    assert other == [[b"/api/agent/copilot/session"]]
    # one opening answers: the waiting one enters
    held.release.setdefault("/api/agent/run/s0/watch", threading.Event()).set()
    held.wait_inside("/api/agent/run/s2/watch")
    for path in ("/api/agent/run/s1/watch", "/api/agent/run/s2/watch"):
        held.release.setdefault(path, threading.Event()).set()
    for thread in threads:
        thread.join(10)
    assert sorted(r[0] for r in results) == [f"/api/agent/run/s{i}/watch".encode() for i in range(3)]


def test_an_opening_that_fails_gives_its_slot_back() -> None:
    held = HeldApp()
    gated = gate_stream_openings(held, 1)
    held.release["/api/agent/run/s/boom"] = threading.Event()
    held.release["/api/agent/run/s/boom"].set()
    with pytest.raises(RuntimeError):
        gated(environ("POST", "/api/agent/run/s/boom"), lambda *a: None)
    assert gated.slots.acquire(blocking=False)  # type: ignore[attr-defined]


def test_an_opening_that_left_the_gate_lets_the_next_in_while_it_still_runs() -> None:
    held = HeldApp()
    left = threading.Event()

    def app(env: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if env["PATH_INFO"].endswith("/slow"):
            leave_gate(env)  # waiting on the runtime from here
            leave_gate(env)  # once only: a second call gives back nothing more
            left.set()
        return held(env, start_response)

    gated = gate_stream_openings(app, 1)
    results: list[Any] = []
    slow = call(gated, environ("POST", "/api/agent/run/a/slow"), results)
    held.wait_inside("/api/agent/run/a/slow")
    assert left.is_set()
    quick = call(gated, environ("POST", "/api/agent/run/b/watch"), results)
    held.wait_inside("/api/agent/run/b/watch")  # entered while the slow one still runs
    assert held.inside == ["/api/agent/run/a/slow", "/api/agent/run/b/watch"]
    for path in held.inside[:]:
        held.release.setdefault(path, threading.Event()).set()
    slow.join(10)
    quick.join(10)
    # the slot was given back once: one is free again, not two
    assert gated.slots.acquire(blocking=False)  # type: ignore[attr-defined]
    assert not gated.slots.acquire(blocking=False)  # type: ignore[attr-defined]
    leave_gate({})  # outside the gate (another server, a test client): nothing to give back


class TricklingInput:
    """A request body whose client sends the first byte, then nothing until the test says so."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.reading = threading.Event()
        self.rest = threading.Event()

    def read(self, size: int = -1) -> bytes:
        self.reading.set()
        assert self.rest.wait(10), "the test never sent the rest"
        return self.body[: size if size >= 0 else None]


def test_a_client_trickling_its_body_in_holds_no_slot() -> None:
    held = HeldApp()
    seen: dict[str, bytes] = {}

    def app(env: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        seen[env["PATH_INFO"]] = env["wsgi.input"].read()
        return held(env, start_response)

    gated = gate_stream_openings(app, 1)
    slow_body = TricklingInput(b'{"prompt": "hello"}')
    slow_env = {**environ("POST", "/api/agent/run"), "CONTENT_LENGTH": "19", "wsgi.input": slow_body}
    results: list[Any] = []
    slow = call(gated, slow_env, results)
    assert slow_body.reading.wait(10)
    # the slow client is still sending; the one slot is free for someone else's opening
    quick_env = {
        **environ("POST", "/api/agent/run/s/stop"),
        "CONTENT_LENGTH": "2",
        "wsgi.input": io.BytesIO(b"{}"),
    }
    held.release["/api/agent/run/s/stop"] = threading.Event()
    held.release["/api/agent/run/s/stop"].set()
    quick = call(gated, quick_env, results)
    quick.join(10)
    assert results == [[b"/api/agent/run/s/stop"]] and not held.inside
    slow_body.rest.set()
    held.release["/api/agent/run"] = threading.Event()
    held.release["/api/agent/run"].set()
    slow.join(10)
    assert seen == {"/api/agent/run/s/stop": b"{}", "/api/agent/run": b'{"prompt": "hello"}'}


def test_the_body_read_first_keeps_the_limits() -> None:
    limit = Limits.MAX_CHAT_REQUEST_BYTES
    # declared over the limit: not read at all (the app answers 413 without reading)
    untouched = io.BytesIO(b"x" * 10)
    env = {**environ("POST", "/api/agent/run"), "CONTENT_LENGTH": str(limit + 1), "wsgi.input": untouched}
    read_body_first(env)
    assert env["wsgi.input"] is untouched and untouched.tell() == 0
    # chunked (no length): read to one byte past the limit, so "too large" is still told apart
    chunked = {**environ("POST", "/api/agent/run"), "wsgi.input_terminated": True}
    chunked["wsgi.input"] = io.BytesIO(b"y" * (limit + 50))
    read_body_first(chunked)
    assert len(chunked["wsgi.input"].read()) == limit + 1
    # a declared length within the limit: exactly that body; no body: nothing read
    exact = {
        **environ("POST", "/api/agent/run/s/watch"),
        "CONTENT_LENGTH": "3",
        "wsgi.input": io.BytesIO(b"{}\nXX"),
    }
    read_body_first(exact)
    assert exact["wsgi.input"].read() == b"{}\n"
    empty = {**environ("POST", "/api/agent/run/s/stop"), "wsgi.input": io.BytesIO(b"")}
    read_body_first(empty)
    assert empty["wsgi.input"].read() == b""


def test_a_declared_body_is_read_once_and_put_back() -> None:
    """The express lane and the gate read the body through one helper; Flask reads the same bytes."""
    within = {"CONTENT_LENGTH": "2", "wsgi.input": io.BytesIO(b"{}tail")}
    assert read_declared_body(within, 2) == b"{}" and within["wsgi.input"].read() == b"{}"
    empty = {"CONTENT_LENGTH": "0", "wsgi.input": io.BytesIO(b"")}
    assert read_declared_body(empty, 2) == b"" and empty["wsgi.input"].read() == b""
    for length in ("3", "", "-1", "2x", None):  # too large, missing or malformed: not read at all
        untouched = io.BytesIO(b"{}")
        env = {"CONTENT_LENGTH": length, "wsgi.input": untouched}
        assert read_declared_body(env, 2) is None
        assert env["wsgi.input"] is untouched and untouched.tell() == 0
    short = {"CONTENT_LENGTH": "5", "wsgi.input": io.BytesIO(b"{}")}  # the client hung up early
    assert read_declared_body(short, 10) is None and short["wsgi.input"].read() == b"{}"


def test_openings_enter_in_arrival_order_under_gevent() -> None:
    """Under gevent (a patched process, as ``python -m webapp`` serves) the waiters enter in order."""
    script = textwrap.dedent(
        """
        from gevent import monkey; monkey.patch_all()
        import gevent, gevent.event
        from webapp.openings import gate_stream_openings

        entered, release = [], {}
        def app(env, start_response):
            path = env["PATH_INFO"]
            entered.append(path)
            release.setdefault(path, gevent.event.Event()).wait(10)
            return [b""]

        gated = gate_stream_openings(app, 2, wait_idle=gevent.idle)  # as python -m webapp builds it
        paths = [f"/api/agent/run/s{i}/watch" for i in range(6)]
        for path in paths:
            release[path] = gevent.event.Event()
        greenlets = []
        for path in paths:
            greenlets.append(gevent.spawn(gated, {"REQUEST_METHOD": "POST", "PATH_INFO": path}, None))
            gevent.idle()  # each arrives (and queues at the gate) before the next
        assert entered == paths[:2], entered
        for path in reversed(paths):  # answered last-first: the order of entry must not follow it
            release[path].set()
            gevent.idle()
        gevent.joinall(greenlets, timeout=10)
        print(",".join(p.split("/")[4] for p in entered))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    # s5..s2 were released before they entered; they enter in the order they arrived at the gate
    assert out.stdout.strip() == "s0,s1,s2,s3,s4,s5"


def test_an_opening_starts_when_frames_already_waiting_have_gone() -> None:
    """Under gevent an opening let in waits for an idle loop: a stream whose frames keep arriving
    (a greenlet ready again at once, five times) is relayed before the opening's work starts."""
    script = textwrap.dedent(
        """
        from gevent import monkey; monkey.patch_all()
        import sys, gevent
        from webapp.openings import gate_stream_openings

        log = []
        def app(env, start_response):
            log.append("open")
            return [b""]

        def relay():
            for i in range(5):
                log.append(f"frame{i}")
                gevent.sleep(0)  # ready again at once: the next frame is already waiting

        wait_idle = gevent.idle if sys.argv[1] == "idle" else None
        gated = gate_stream_openings(app, 1, wait_idle=wait_idle)
        opening = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/agent/run"}
        gevent.joinall([gevent.spawn(relay), gevent.spawn(gated, opening, None)], timeout=10)
        print(",".join(log))
        """
    )

    def order(mode: str) -> str:
        out = subprocess.run(
            [sys.executable, "-c", script, mode],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return out.stdout.strip()

    assert order("idle") == "frame0,frame1,frame2,frame3,frame4,open"
    # without it the opening cuts in as soon as the relay yields once
    assert order("none") == "frame0,open,frame1,frame2,frame3,frame4"


def test_openings_let_in_together_start_one_per_idle_turn() -> None:
    """Three openings have slots at once. Each one's work makes a stream's frame ready (the runtime
    of an earlier opening has answered): that frame goes out before the next opening starts, not
    after all three (they used to share one idle turn and run back to back)."""
    script = textwrap.dedent(
        """
        from gevent import monkey; monkey.patch_all()
        import gevent, gevent.event
        from webapp.openings import gate_stream_openings

        log, answered = [], gevent.event.Event()
        def app(env, start_response):
            log.append("open")
            answered.set()  # an earlier stream's first frame is ready now
            return [b""]

        def relay():
            for _ in range(3):
                answered.wait(10)
                answered.clear()
                log.append("frame")

        gated = gate_stream_openings(app, 3, wait_idle=gevent.idle)  # as python -m webapp builds it
        opening = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/agent/run"}
        greenlets = [gevent.spawn(relay)] + [gevent.spawn(gated, dict(opening), None) for _ in range(3)]
        gevent.joinall(greenlets, timeout=10)
        print(",".join(log))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "open,frame,open,frame,open,frame"


def test_the_number_of_openings_at_once_is_configurable() -> None:
    assert opening_greenlets({}) == DEFAULT_OPENING_GREENLETS
    assert opening_greenlets({"WEB_OPENING_GREENLETS": "12"}) == 12
    for bad in ("0", "-1", "two", "1.5"):
        with pytest.raises(ValueError, match="WEB_OPENING_GREENLETS"):
            opening_greenlets({"WEB_OPENING_GREENLETS": bad})
    with pytest.raises(ValueError):
        gate_stream_openings(lambda e, s: [], 0)
