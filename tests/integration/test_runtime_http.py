"""The agent runtime over HTTP: ``python -m agent_runtime`` on loopback, driven like the web app does."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest

from tests.support.runtime_process import RuntimeProcess
from tests.support.sse import Frame, check_stream, custom, last_snapshot, text_of, tool_calls, types_of
from tests.support.waiting import wait_until

ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"
DONE = "Done! Take a look and let me know what to change."


def _collapse(types: list[str]) -> list[str]:
    return [kind for kind, _ in itertools.groupby(types)]


def _outline(runtime: RuntimeProcess, prompt: str = ONBOARDING) -> tuple[str, str, list[Frame]]:
    sid, token = runtime.new_session()
    frames = runtime.chat(sid, token, prompt)
    check_stream(frames)
    return sid, token, frames


# --------------------------------------------------------------------------------------------
# First turn, later turns
# --------------------------------------------------------------------------------------------


def test_first_turn_is_exactly_the_design_sequence(runtime: RuntimeProcess) -> None:
    sid, _, frames = _outline(runtime)

    assert _collapse(types_of(frames)) == [
        "RUN_STARTED",
        "CUSTOM:control.handoff",
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "STATE_SNAPSHOT",
        "CUSTOM:portal.done",
        "RUN_FINISHED",
    ]
    assert frames[0].event["threadId"] == sid
    assert frames[-1].event["runId"] == frames[0].event["runId"]
    assert frames[-1].event["outcome"] == {"type": "success"}
    assert [name for name, _ in tool_calls(frames)] == ["set_playbook_outline", "suggest_replies"]
    assert custom(frames, "control.handoff")[0]["target"] == "playbooks"

    outline = tool_calls(frames)[0][1]
    titles = " ".join(m["title"].lower() for m in outline["modules"])
    assert "kickoff" in titles and "document" in titles and "30-day" in titles
    snapshot = last_snapshot(frames)
    assert snapshot["phase"] == "outline"
    assert [m["title"] for m in snapshot["canvas"]["modules"]] == [m["title"] for m in outline["modules"]]
    assert custom(frames, "portal.done") == [{"phase": "outline", "version": snapshot["version"]}]
    ids = [f.id for f in frames]
    assert all(i is not None for i in ids) and len(set(ids)) == len(ids)


def test_different_prompts_get_different_outlines(runtime: RuntimeProcess) -> None:
    _, _, incident = _outline(runtime, "We need an incident response playbook for production outages")
    _, _, launch = _outline(runtime, "Plan a product launch for our new mobile app")
    incident_titles = [m["title"] for m in tool_calls(incident)[0][1]["modules"]]
    launch_titles = [m["title"] for m in tool_calls(launch)[0][1]["modules"]]
    assert incident_titles != launch_titles


def test_later_turns_go_straight_to_the_orchestrator(runtime: RuntimeProcess) -> None:
    sid, token, first = _outline(runtime)
    modules = len(last_snapshot(first)["canvas"]["modules"])

    frames = runtime.chat(sid, token, "add a module about security review")
    check_stream(frames)
    assert "CUSTOM:control.handoff" not in types_of(frames)
    assert [name for name, _ in tool_calls(frames)][0] == "add_module"
    assert len(last_snapshot(frames)["canvas"]["modules"]) == modules + 1


def test_general_question_gets_a_polite_answer_and_no_handoff(runtime: RuntimeProcess) -> None:
    sid, token = runtime.new_session()
    frames = runtime.chat(sid, token, "hello there, what's the weather like?")
    check_stream(frames)
    types = types_of(frames)
    assert "CUSTOM:control.handoff" not in types and "TOOL_CALL_START" not in types
    assert "playbook" in text_of(frames).lower()
    assert types[-2:] == ["CUSTOM:portal.done", "RUN_FINISHED"]

    # the router still answers the next message, which now hands off
    frames = runtime.chat(sid, token, ONBOARDING)
    check_stream(frames)
    assert "CUSTOM:control.handoff" in types_of(frames)


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def _max_concurrent(frames: list[Frame]) -> int:
    running = peak = 0
    for f in frames:
        if f.type == "SUBAGENT_STARTED":
            running += 1
            peak = max(peak, running)
        elif f.type in ("SUBAGENT_FINISHED", "SUBAGENT_ERROR"):
            running -= 1
    return peak


def test_build_and_watch(slow_runtime: RuntimeProcess) -> None:
    runtime = slow_runtime
    sid, token, first = _outline(runtime)
    module_count = len(last_snapshot(first)["canvas"]["modules"])
    assert module_count >= 6

    built = runtime.chat(sid, token, "build it")
    check_stream(built)
    assert [name for name, _ in tool_calls(built)] == ["build_modules"]
    assert last_snapshot(built)["phase"] == "building"
    assert runtime.ping() == "HealthyBusy"

    # Every frame's id is a per-session sequence number, so a watch that resumes after the
    # build_modules call of the chat stream replays the whole build from its first event.
    build_call_end = [f for f in built if f.type == "TOOL_CALL_END"][-1].id
    watch = runtime.action(sid, token, "watch", last_event_id=build_call_end)
    check_stream(watch)
    types = types_of(watch)
    assert types[:3] == ["RUN_STARTED", "CUSTOM:build.progress", "SUBAGENT_STARTED"]
    assert types[-2:] == ["CUSTOM:portal.done", "RUN_FINISHED"]

    starts = [f for f in watch if f.type == "SUBAGENT_STARTED"]
    finishes = [f for f in watch if f.type == "SUBAGENT_FINISHED"]
    assert sorted(f.event["metadata"]["module_index"] for f in starts) == list(range(module_count))
    assert len(finishes) == module_count and not [f for f in watch if f.type == "SUBAGENT_ERROR"]
    assert 2 <= _max_concurrent(watch) <= 3
    assert {name for name, _ in tool_calls(watch)} == {"add_tasks", "add_task_step"}
    assert all(f.event.get("subagentRunId") for f in watch if f.type.startswith("TOOL_CALL")), (
        "builder tool calls carry their subagent run id"
    )
    assert custom(watch, "build.progress")[-1] == {"built": module_count, "failed": 0, "total": module_count}

    final = last_snapshot(watch)
    assert final["phase"] == "refinement"
    for module in final["canvas"]["modules"]:
        assert module["status"] == "built"
        assert len(module["tasks"]) >= 2
        assert all(len(task["steps"]) >= 1 for task in module["tasks"])
    assert DONE in text_of(watch)
    assert runtime.ping() == "Healthy"
    assert runtime.stats()["max_builders_seen"] <= 3

    # a watch when nothing is building (it joins: the transcript, the snapshot), then done
    idle = runtime.action(sid, token, "watch")
    check_stream(idle)
    assert types_of(idle) == [
        "RUN_STARTED",
        "MESSAGES_SNAPSHOT",
        "STATE_SNAPSHOT",
        "CUSTOM:portal.done",
        "RUN_FINISHED",
    ]
    assert last_snapshot(idle) == final


def test_watch_resumes_after_last_event_id_without_gap_or_duplicate(slow_runtime: RuntimeProcess) -> None:
    runtime = slow_runtime
    sid, token, _ = _outline(runtime)
    built = runtime.chat(sid, token, "build it")
    # The builder page's watch: from the id of the turn's closing snapshot (not a fresh join, which
    # shows only the end once the build is over: on a loaded machine it can be over by then).
    closing = [f for f in built if f.type == "STATE_SNAPSHOT"][-1]

    first_part: list[Frame] = []
    body = runtime.body(sid, token, "watch", last_event_id=closing.id)
    with runtime.stream(body, session_id=sid) as frames:
        for frame in frames:
            first_part.append(frame)
            if sum(f.type == "TOOL_CALL_END" for f in first_part) >= 3:
                break  # the connection drops mid-build
    last_id = first_part[-1].id
    assert last_id is not None

    second_part = runtime.action(sid, token, "watch", last_event_id=last_id)
    types = types_of(second_part)
    assert types[0] == "RUN_STARTED" and "STATE_SNAPSHOT" in types[1:]  # the refinement snapshot only
    assert types.count("STATE_SNAPSHOT") == 1 and types[-1] == "RUN_FINISHED"
    # the builders still working where the first stream dropped are announced again, first
    still_open: dict[str, str] = {}
    for f in first_part:
        if f.type == "SUBAGENT_STARTED":
            still_open[f.event["subagentRunId"]] = f.data
        elif f.type in ("SUBAGENT_FINISHED", "SUBAGENT_ERROR"):
            still_open.pop(f.event["subagentRunId"], None)
    announced = second_part[1 : 1 + len(still_open)]
    assert [(f.id, f.data) for f in announced] == [(last_id, data) for data in still_open.values()]
    replayed = second_part[1 + len(still_open) :]
    resumed_ids = [f.id for f in replayed if f.type not in ("CUSTOM", "RUN_FINISHED")]
    assert all(i is not None and i > last_id for i in resumed_ids)

    seen = [f for f in first_part + second_part if f.type == "TOOL_CALL_START"]
    assert len({f.event["toolCallId"] for f in seen}) == len(seen), "a tool call was sent twice"
    calls = tool_calls(first_part) + tool_calls(second_part)
    start = closing.event["snapshot"]["canvas"]["modules"]  # where the first watch resumed
    final = last_snapshot(second_part)
    for index, module in enumerate(final["canvas"]["modules"]):
        adds = [args for name, args in calls if name == "add_tasks" and args["module_index"] == index]
        tasks = len(start[index]["tasks"]) + sum(len(args["tasks"]) for args in adds)
        steps = (
            sum(len(t["steps"]) for t in start[index]["tasks"])
            + sum(len(t["steps"]) for args in adds for t in args["tasks"])
            + sum(1 for name, args in calls if name == "add_task_step" and args["module_index"] == index)
        )
        assert tasks == len(module["tasks"]), f"module {index}: tasks missing from the resumed streams"
        assert steps == sum(len(t["steps"]) for t in module["tasks"]), f"module {index}: steps missing"


def _replay(start: dict[str, Any], frames: list[Frame]) -> list[tuple[int, int]]:
    """(tasks, steps) per module after applying the frames' builder tool calls to ``start``."""
    modules = [[len(t["steps"]) for t in m["tasks"]] for m in start["canvas"]["modules"]]
    for name, args in tool_calls(frames):
        if name == "add_tasks":
            modules[args["module_index"]] += [len(t["steps"]) for t in args["tasks"]]
        elif name == "add_task_step":
            modules[args["module_index"]][args["task_index"]] += 1
    return [(len(m), sum(m)) for m in modules]


def test_watch_from_the_turns_snapshot_catches_a_build_that_already_finished(
    slow_runtime: RuntimeProcess,
) -> None:
    """The browser resumes from the chat turn's closing snapshot, which may already hold part of the
    build: replaying after its id misses nothing and doubles nothing, even once the build is over."""
    runtime = slow_runtime
    sid, token, _ = _outline(runtime)
    built = runtime.chat(sid, token, "build it")
    snapshot_frame = [f for f in built if f.type == "STATE_SNAPSHOT"][-1]
    # the build runs in the background; wait for it to end before watching
    wait_until(lambda: runtime.ping() == "Healthy", "the build ended", timeout=20, interval=0.05)

    watch = runtime.action(sid, token, "watch", last_event_id=snapshot_frame.id)
    check_stream(watch)
    final = last_snapshot(watch)
    assert final["phase"] == "refinement" and DONE in text_of(watch)
    expected = [
        (len(m["tasks"]), sum(len(t["steps"]) for t in m["tasks"])) for m in final["canvas"]["modules"]
    ]
    assert _replay(dict(snapshot_frame.event["snapshot"]), watch) == expected


# --------------------------------------------------------------------------------------------
# Stop, busy, reset
# --------------------------------------------------------------------------------------------


def _ends_cancelled(frames: list[Frame]) -> bool:
    return types_of(frames)[-2:] == ["CUSTOM:run.cancelled", "RUN_FINISHED"] and frames[-1].event[
        "outcome"
    ] == {"type": "cancelled"}


def test_stop_during_a_build(runtime_factory: Any) -> None:
    with runtime_factory({"OFFLINE_MODEL_LATENCY_MS": "150"}) as runtime:
        sid, token, _ = _outline(runtime)
        runtime.chat(sid, token, "build it")
        watch = runtime.stream_in_thread(runtime.body(sid, token, "watch"), session_id=sid)
        watch.wait_for(lambda fs: any(f.type == "TOOL_CALL_END" for f in fs))

        started = time.monotonic()
        stop = runtime.action(sid, token, "stop")
        stop_seconds = time.monotonic() - started
        watched = watch.wait_done()

        check_stream(stop)
        check_stream(watched)
        assert _ends_cancelled(stop) and _ends_cancelled(watched)
        assert stop_seconds < 2.5
        stats = runtime.stats()
        assert stats["builders_working"] == 0 and stats["async_tasks"] == 0
        assert runtime.ping() == "Healthy"

        snapshot = last_snapshot(stop)
        modules = snapshot["canvas"]["modules"]
        assert snapshot["phase"] == "refinement"
        assert any(m["tasks"] for m in modules), "tasks already built stay"
        assert any(m["status"] == "failed" and "stopped" in (m["reason"] or "") for m in modules)
        assert any(f.type == "SUBAGENT_ERROR" for f in watched)

        # nothing is corrupted: the session still takes a normal turn
        frames = runtime.chat(sid, token, "rename module 1 to Kickoff")
        check_stream(frames)
        assert types_of(frames)[-1] == "RUN_FINISHED" and frames[-1].event["outcome"] == {"type": "success"}


def test_stop_during_a_chat_turn(runtime_factory: Any) -> None:
    with runtime_factory({"OFFLINE_MODEL_LATENCY_MS": "400"}) as runtime:
        sid, token = runtime.new_session()
        turn = runtime.stream_in_thread(runtime.body(sid, token, "chat", prompt=ONBOARDING), session_id=sid)
        turn.wait_for(lambda fs: any(f.type == "CUSTOM" and f.event["name"] == "control.handoff" for f in fs))

        stop = runtime.action(sid, token, "stop")
        frames = turn.wait_done()
        check_stream(stop)
        check_stream(frames)
        assert _ends_cancelled(stop) and _ends_cancelled(frames)
        assert custom(frames, "run.cancelled") == [{"reason": "stop"}]

        after = runtime.chat(sid, token, "add a module about security review")
        check_stream(after)
        assert frames[-1].event["outcome"] == {"type": "cancelled"}
        assert after[-1].event["outcome"] == {"type": "success"}


def test_second_concurrent_chat_is_refused_busy(slow_runtime: RuntimeProcess) -> None:
    runtime = slow_runtime
    sid, token = runtime.new_session()
    first = runtime.stream_in_thread(runtime.body(sid, token, "chat", prompt=ONBOARDING), session_id=sid)
    first.wait_for(lambda fs: any(f.type == "CUSTOM" and f.event["name"] == "control.handoff" for f in fs))

    second = runtime.chat(sid, token, "build it")
    assert types_of(second) == ["RUN_ERROR"]
    assert second[0].event["code"] == "SESSION_BUSY"

    frames = first.wait_done()
    check_stream(frames)
    assert frames[-1].event["outcome"] == {"type": "success"}
    assert last_snapshot(frames)["phase"] == "outline"


def test_reset_starts_fresh(runtime: RuntimeProcess) -> None:
    sid, token, _ = _outline(runtime)
    runtime.chat(sid, token, "add a module about security review")

    reset = runtime.action(sid, token, "reset")
    check_stream(reset)
    assert types_of(reset) == ["RUN_STARTED", "STATE_SNAPSHOT", "CUSTOM:portal.done", "RUN_FINISHED"]
    assert last_snapshot(reset) == {
        "phase": "empty",
        "canvas": {"title": "", "description": "", "modules": []},
        "version": 0,
        "history": {"can_undo": False, "can_redo": False},  # nothing to undo after a reset
        "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0, "cost_usd": 0.0},  # fresh
    }

    frames = runtime.chat(sid, token, "Plan a product launch for our new mobile app")
    check_stream(frames)
    assert "CUSTOM:control.handoff" in types_of(frames)  # back at the router
    titles = [m["title"].lower() for m in last_snapshot(frames)["canvas"]["modules"]]
    assert not any("security" in t for t in titles)


# --------------------------------------------------------------------------------------------
# Refusals: each gives its documented answer and leaves the session intact
# --------------------------------------------------------------------------------------------


def _refused(runtime: RuntimeProcess, body: Any, session_id: str | None) -> str:
    status, frames, raw = runtime.invoke(body, session_id=session_id)
    assert status == 200, raw
    assert types_of(frames) == ["RUN_ERROR"], raw
    check_stream(frames)
    return str(frames[0].event["code"])


def test_refusals_and_no_corruption(runtime: RuntimeProcess) -> None:
    sid, token, first = _outline(runtime)
    before = last_snapshot(runtime.action(sid, token, "watch"))
    other_sid, other_token = runtime.new_session()
    chat = runtime.body(sid, token, "chat", prompt="remove the last module")

    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert _refused(runtime, {**chat, "token": tampered}, sid) == "TOKEN_INVALID"
    expired = runtime.codec.mint(sid=sid, uid=1, vid=1, typ="copilot", ttl=-5)
    assert _refused(runtime, {**chat, "token": expired}, sid) == "TOKEN_EXPIRED"
    assert _refused(runtime, {**chat, "token": other_token}, sid) == "SESSION_MISMATCH"
    wrong_user = runtime.codec.mint(sid=sid, uid=2, vid=1, typ="copilot")
    assert _refused(runtime, {**chat, "token": wrong_user}, sid) == "IDENTITY_MISMATCH"
    wrong_vendor = runtime.codec.mint(sid=sid, uid=1, vid=9, typ="copilot")
    assert _refused(runtime, runtime.body(sid, wrong_vendor, "stop"), sid) == "IDENTITY_MISMATCH"
    assert _refused(runtime, chat, other_sid) == "SESSION_MISMATCH"
    assert _refused(runtime, chat, None) == "SESSION_MISMATCH"
    assert _refused(runtime, {**chat, "prompt": "x" * (32 * 1024 + 1)}, sid) == "PAYLOAD_TOO_LARGE"
    assert _refused(runtime, {**chat, "action": "dance"}, sid) == "UNKNOWN_ACTION"
    assert _refused(runtime, {k: v for k, v in chat.items() if k != "token"}, sid) == "TOKEN_MISSING"
    assert _refused(runtime, {**chat, "prompt": "   "}, sid) == "INVALID_PAYLOAD"
    assert _refused(
        runtime, runtime.body(sid, token, "resume_interrupt", interrupt_id="i1", decision="approve"), sid
    ) == ("INTERRUPT_UNKNOWN")

    status, frames, raw = runtime.invoke(None, session_id=sid, content=b'{"action": "chat", "prompt": ')
    assert status == 400 and frames == [] and b"Invalid JSON" in raw

    # none of that touched the session: same canvas, and a normal turn works
    assert last_snapshot(runtime.action(sid, token, "watch")) == before
    frames = runtime.chat(sid, token, "remove the last module")
    check_stream(frames)
    assert frames[-1].event["outcome"] == {"type": "success"}
    assert (
        len(last_snapshot(frames)["canvas"]["modules"]) == len(last_snapshot(first)["canvas"]["modules"]) - 1
    )


def test_ping_is_healthy_when_idle(runtime: RuntimeProcess) -> None:
    assert runtime.ping() == "Healthy"


# --------------------------------------------------------------------------------------------
# Budgets
# --------------------------------------------------------------------------------------------


def test_cycle_budget_ends_the_turn_with_budget_exceeded(runtime_factory: Any) -> None:
    with runtime_factory({"MAX_AGENT_CYCLES": "1"}) as runtime:
        sid, token = runtime.new_session()
        frames = runtime.chat(sid, token, ONBOARDING)
        check_stream(frames)
        assert types_of(frames)[-2:] == ["STATE_SNAPSHOT", "RUN_ERROR"]
        assert frames[-1].event["code"] == "BUDGET_EXCEEDED"
        snapshot = last_snapshot(frames)
        assert snapshot["phase"] == "outline" and snapshot["canvas"]["modules"]  # the completed step stays


def test_wall_clock_budget_ends_the_turn_with_budget_exceeded(runtime_factory: Any) -> None:
    with runtime_factory({"TURN_BUDGET_SECONDS": "0.5", "OFFLINE_MODEL_LATENCY_MS": "300"}) as runtime:
        sid, token = runtime.new_session()
        started = time.monotonic()
        frames = runtime.chat(sid, token, ONBOARDING)
        check_stream(frames)
        assert frames[-1].type == "RUN_ERROR" and frames[-1].event["code"] == "BUDGET_EXCEEDED"
        assert time.monotonic() - started < 3
        assert runtime.ping() == "Healthy"


@pytest.fixture(scope="module")
def runtime_factory() -> Any:
    """Start a runtime with extra environment (a context manager)."""
    from tests.support.runtime_process import start_runtime

    return start_runtime
