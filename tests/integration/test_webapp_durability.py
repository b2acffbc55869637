"""A session outlives its runtime, through the web app (issue 5): two runtimes behind
``RUNTIME_URLS`` share the session store; the session's runtime is killed after two turns, and the
next turn — sent by the browser to the web app as usual — lands on the other runtime and continues
the canvas, its version and the conversation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.runtime_process import RUNTIME_SECRET, RuntimeProcess, start_runtime
from tests.support.sse import Frame, check_stream, last_snapshot, parse_frames, types_of
from tests.support.webapp_harness import *  # noqa: F403
from tests.support.webapp_harness import WebappProcess, WebClient, add_user, app_for_url
from webapp.transports.http import rendezvous_rank

ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"


def _turn(client: WebClient, session: dict[str, Any], prompt: str) -> list[Frame]:
    body = {
        "session_id": session["session_id"],
        "token": session["token"],
        "action": "chat",
        "prompt": prompt,
    }
    with client.stream("/api/agent/run", body) as response:
        assert response.status_code == 200, response.read()
        frames = parse_frames(b"".join(response.iter_raw()))
    check_stream(frames)
    return frames


def test_the_next_turn_continues_on_the_other_runtime_after_a_kill(sqlite_url: str, tmp_path: Path) -> None:
    shared = {"DATA_DIR": str(tmp_path / "runtime-data")}
    with start_runtime(shared) as one, start_runtime(shared) as two:
        urls = f"{one.url},{two.url}"
        seeder = app_for_url(sqlite_url, AGENT_SIGNING_SECRET=RUNTIME_SECRET, RUNTIME_URLS=urls)
        env = {"DATABASE_URL": sqlite_url, "AGENT_SIGNING_SECRET": RUNTIME_SECRET, "RUNTIME_URLS": urls}
        user = add_user(seeder)
        with WebappProcess(env) as process, WebClient(process.url, timeout=60) as client:
            assert client.login(user["email"], user["password"]).status_code == 302
            session = client.mint()
            first = _turn(client, session, ONBOARDING)
            assert "CUSTOM:control.handoff" in types_of(first)
            second = last_snapshot(_turn(client, session, "rename module 2 to Kickoff"))

            by_url: dict[str, RuntimeProcess] = {one.url: one, two.url: two}
            pinned = by_url[rendezvous_rank([one.url, two.url], session["session_id"])[0]]
            other = two if pinned is one else one
            assert pinned.stats()["sessions"] == 1 and other.stats()["sessions"] == 0
            pinned.proc.kill()  # no goodbye: the microVM is gone
            pinned.proc.wait(timeout=10)

            third_frames = _turn(client, session, "add a module about security review")
            third = last_snapshot(third_frames)
            assert other.stats()["sessions"] == 1  # the other runtime took the turn
        seeder.extensions["database"].dispose()
        seeder.extensions["agent_transport"].close()

    # straight to the orchestrator (the conversation continued) …
    assert "CUSTOM:control.handoff" not in types_of(third_frames)
    # … on the canvas the first runtime left: same modules plus the new one, and a later version
    before = [m["title"] for m in second["canvas"]["modules"]]
    after = [m["title"] for m in third["canvas"]["modules"]]
    assert before[1] == "Kickoff"
    assert after[: len(before)] == before and after[len(before) :] == ["Security Review"]
    assert third["version"] > second["version"]
