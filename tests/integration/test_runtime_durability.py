"""Durable sessions over HTTP: a killed runtime's session continues on a new one, two runtimes
share sessions, a stop reaches the runtime running the turn, and the S3 store (moto)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from agent_runtime.session.store.journal import JOURNAL_FILE, read_messages
from tests.support.runtime_process import free_port, start_runtime
from tests.support.sse import Frame, check_stream, custom, last_snapshot, types_of

ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"


def _titles(frames: list[Frame]) -> list[str]:
    return [m["title"] for m in last_snapshot(frames)["canvas"]["modules"]]


def _stored_prompts(data: Path, sid: str) -> list[str]:
    prompts = []
    for message in read_messages(data / "sessions" / f"session_{sid}" / JOURNAL_FILE):
        if message["role"] == "user":
            prompts += [block["text"] for block in message["content"] if "text" in block]
    return prompts


@pytest.fixture
def data_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="runtime-shared-") as folder:
        yield Path(folder)


def test_a_killed_runtimes_session_continues_on_a_new_one(data_dir: Path) -> None:
    env = {"DATA_DIR": str(data_dir)}
    with start_runtime(env) as first:
        sid, token = first.new_session()
        check_stream(first.chat(sid, token, ONBOARDING))
        before = first.chat(sid, token, "rename module 1 to Welcome call")
        check_stream(before)
        first.proc.kill()  # no goodbye: SIGKILL mid-session
        first.proc.wait()
    with start_runtime(env) as second:
        frames = second.chat(sid, token, "add a module about security review")
        check_stream(frames)
        assert "CUSTOM:control.handoff" not in types_of(frames)  # still with the orchestrator
        snapshot = last_snapshot(frames)
        assert _titles(frames)[: len(_titles(before))] == _titles(before)
        assert _titles(frames)[0] == "Welcome call" and _titles(frames)[-1] == "Security Review"
        assert snapshot["version"] == last_snapshot(before)["version"] + 1
        assert _stored_prompts(data_dir, sid) == [
            ONBOARDING,
            "rename module 1 to Welcome call",
            "add a module about security review",
        ]
        watched = second.action(sid, token, "watch")  # a reloaded page on the new runtime catches up
        assert last_snapshot(watched) == snapshot


def test_a_runtime_killed_the_moment_run_finished_arrives_has_stored_the_turn(data_dir: Path) -> None:
    env = {"DATA_DIR": str(data_dir)}
    with start_runtime(env) as first:
        sid, token = first.new_session()
        check_stream(first.chat(sid, token, ONBOARDING))
        seen = []
        body = first.body(sid, token, prompt="rename module 1 to Welcome call")
        with first.stream(body, session_id=sid) as frames:
            for frame in frames:
                seen.append(frame)
                if frame.type == "RUN_FINISHED":
                    first.proc.kill()  # SIGKILL before the client even finishes reading
                    break
        first.proc.wait()
    assert seen[-1].type == "RUN_FINISHED"
    finished = last_snapshot(seen)
    with start_runtime(env) as second:
        watched = second.action(sid, token, "watch")
        assert last_snapshot(watched) == finished  # the canvas as the finished turn left it
        frames = second.chat(sid, token, "add a module about security review")
        check_stream(frames)
        assert "CUSTOM:control.handoff" not in types_of(frames)
        assert (
            _titles(frames)[0] == "Welcome call"
            and last_snapshot(frames)["version"] == finished["version"] + 1
        )
        assert _stored_prompts(data_dir, sid) == [
            ONBOARDING,
            "rename module 1 to Welcome call",
            "add a module about security review",
        ]
        # The undo history came back with the session: each turn undoes exactly, the first one to
        # the empty canvas it started from (that step is stored whole, not as a diff).
        assert last_snapshot(second.action(sid, token, "undo"))["canvas"] == finished["canvas"]
        outline = last_snapshot(second.action(sid, token, "undo"))["canvas"]
        assert outline["modules"][0]["title"] != "Welcome call"
        assert outline["modules"][1:] == finished["canvas"]["modules"][1:]
        empty = last_snapshot(second.action(sid, token, "undo"))
        assert empty["canvas"]["modules"] == [] and empty["history"] == {"can_undo": False, "can_redo": True}
        assert last_snapshot(second.action(sid, token, "redo"))["canvas"] == outline


def test_two_runtimes_share_sessions_and_a_stop_reaches_the_other(data_dir: Path) -> None:
    env = {"DATA_DIR": str(data_dir), "OFFLINE_MODEL_LATENCY_MS": "400"}
    with start_runtime({"DATA_DIR": str(data_dir)}) as fast, start_runtime(env) as slow:
        sid, token = fast.new_session()
        first = fast.chat(sid, token, ONBOARDING)
        second = slow.chat(sid, token, "rename module 2 to Collect documents")
        third = fast.chat(sid, token, "move the last module up")
        for frames in (first, second, third):
            check_stream(frames)
        assert _titles(second)[1] == "Collect documents"
        assert "Collect documents" in _titles(third) and _titles(third)[-1] == _titles(second)[-2]
        assert (
            last_snapshot(first)["version"]
            < last_snapshot(second)["version"]
            < last_snapshot(third)["version"]
        )

        # a slow turn on one runtime, the stop sent to the other
        turn = slow.stream_in_thread(
            slow.body(sid, token, "chat", prompt="add a module about training and add a module about audits"),
            session_id=sid,
        )
        turn.wait_for(lambda frames: any(f.type == "RUN_STARTED" for f in frames))
        sent = time.monotonic()
        stopped = fast.action(sid, token, "stop")
        check_stream(stopped)
        assert custom(stopped, "run.cancelled") == [{"reason": "stop"}]
        frames = turn.wait_done(10)
        elapsed = time.monotonic() - sent
        check_stream(frames)
        assert types_of(frames)[-2:] == ["CUSTOM:run.cancelled", "RUN_FINISHED"]
        assert frames[-1].event["outcome"] == {"type": "cancelled"}
        assert elapsed < 2.0, elapsed

        after = fast.chat(sid, token, "rename module 1 to Kickoff")  # the flag does not stop the next turn
        check_stream(after)
        assert after[-1].event["outcome"] == {"type": "success"}

        # a build running on one runtime, the stop sent to the other: the builders stop too
        started = slow.chat(sid, token, "build it")
        check_stream(started)
        watch = slow.stream_in_thread(slow.body(sid, token, "watch"), session_id=sid)
        watch.wait_for(lambda frames: any(f.type == "SUBAGENT_STARTED" for f in frames))
        sent = time.monotonic()
        check_stream(fast.action(sid, token, "stop"))
        watched = watch.wait_done(10)
        assert time.monotonic() - sent < 2.0
        assert types_of(watched)[-2:] == ["CUSTOM:run.cancelled", "RUN_FINISHED"]
        assert slow.stats()["builders_working"] == 0


def test_reset_on_one_runtime_clears_the_session_for_all(data_dir: Path) -> None:
    with start_runtime({"DATA_DIR": str(data_dir)}) as one, start_runtime({"DATA_DIR": str(data_dir)}) as two:
        sid, token = one.new_session()
        check_stream(one.chat(sid, token, ONBOARDING))
        check_stream(two.action(sid, token, "reset"))
        frames = one.chat(sid, token, "Plan a product launch for our new mobile app")
        check_stream(frames)
        assert "CUSTOM:control.handoff" in types_of(frames)  # a fresh session, from the router


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def test_the_s3_store_keeps_sessions_across_runtimes(moto_s3: str) -> None:
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_s3)
    s3.create_bucket(Bucket="playbook-sessions")
    env = {
        "SESSION_STORE": "s3",
        "SESSION_S3_BUCKET": "playbook-sessions",
        "SESSION_S3_PREFIX": "test/sessions",
        "SESSION_S3_REGION": "us-east-1",
        "SESSION_S3_ENDPOINT_URL": moto_s3,
    }
    with start_runtime(env) as first:
        sid, token = first.new_session()
        check_stream(first.chat(sid, token, ONBOARDING))
        before = first.chat(sid, token, "rename module 1 to Welcome call")
        first.proc.kill()
        first.proc.wait()
    keys = [
        o["Key"] for o in s3.list_objects_v2(Bucket="playbook-sessions", Prefix="test/sessions/")["Contents"]
    ]
    assert f"test/sessions/session_{sid}/session.json" in keys
    with start_runtime(env) as second:
        frames = second.chat(sid, token, "add a module about security review")
        check_stream(frames)
        assert _titles(frames)[0] == "Welcome call" and len(_titles(frames)) == len(_titles(before)) + 1
        assert last_snapshot(frames)["version"] == last_snapshot(before)["version"] + 1
        check_stream(second.action(sid, token, "reset"))
    left = s3.list_objects_v2(Bucket="playbook-sessions", Prefix=f"test/sessions/session_{sid}/")
    assert left.get("KeyCount", 0) == 0


def test_a_stop_while_nothing_runs_leaves_the_next_turn_alone(data_dir: Path) -> None:
    """A stop for a session nobody runs right now answers at once and leaves the next turn alone."""
    with start_runtime({"DATA_DIR": str(data_dir)}) as one, start_runtime({"DATA_DIR": str(data_dir)}) as two:
        sid, token = one.new_session()
        check_stream(one.chat(sid, token, ONBOARDING))
        stopped = two.action(sid, token, "stop")
        check_stream(stopped)
        assert _titles(stopped) == _titles(one.chat(sid, token, "hello"))
        check_stream(two.chat(sid, token, "rename module 1 to Welcome"))
