"""``make bench``'s floor (``bench/bare_relay.py``): the web app's server and runtime transport with
no app in between. Served as the bench serves it, it relays what the runtime sends, frame for frame,
so the open cost it reports is a relay's and not an error page's."""

from __future__ import annotations

import json

import httpx

from bench.webapp_bench import start_bare
from tests.support.runtime_stub import StubRuntime


def test_the_bench_floor_relays_the_runtimes_stream() -> None:
    stub = StubRuntime(record=True).start()
    proc, port = start_bare(stub.url)
    try:
        body = {"session_id": "s-floor", "token": "t", "action": "chat", "prompt": "frames=3 size=50"}
        with httpx.Client(timeout=30) as client:
            answer = client.post(f"http://127.0.0.1:{port}/api/agent/run", content=json.dumps(body))
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/event-stream"
        frames = [f for f in answer.content.split(b"\n\n") if f]
        assert len(frames) == 3 and all(f.startswith(b"id: ") for f in frames)
        assert [r.payload["session_id"] for r in stub.invocations] == ["s-floor"]
    finally:
        proc.stop()
        stub.stop()
