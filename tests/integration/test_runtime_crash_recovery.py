"""A runtime killed (SIGKILL) mid-build or mid-turn: the session recovers on the next runtime.

Mid-build: the modules already built keep their tasks, the unfinished ones go back to pending and
are built again (``BUILD_RECOVERY=continue``), or wait for "build it" (``wait``); watch, stop and
reset work throughout. Mid-turn: the stored canvas, version and conversation agree, so the next
reply never claims a change the canvas lacks.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.runtime_process import RuntimeProcess, start_runtime
from tests.support.sse import Frame, check_stream, custom, last_snapshot, text_of, tool_calls, types_of

ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"


def _kill_with_three_builders_working(runtime: RuntimeProcess) -> tuple[str, str, int]:
    """Outline, "build it", then SIGKILL once 3 builders work and at least one module is built."""
    sid, token = runtime.new_session()
    check_stream(runtime.chat(sid, token, ONBOARDING))
    check_stream(runtime.chat(sid, token, "add a module about security review"))
    built = runtime.chat(sid, token, "build it")
    modules = len(last_snapshot(built)["canvas"]["modules"])
    assert modules >= 5
    watch = runtime.stream_in_thread(runtime.body(sid, token, "watch"), session_id=sid)

    def three_working_one_built(frames: list[Frame]) -> bool:
        running: set[str] = set()
        finished = 0
        for f in frames:
            if f.type == "SUBAGENT_STARTED":
                running.add(f.event["subagentRunId"])
            elif f.type in ("SUBAGENT_FINISHED", "SUBAGENT_ERROR"):
                running.discard(f.event["subagentRunId"])
                finished += 1
        return finished >= 1 and len(running) == 3

    watch.wait_for(three_working_one_built)
    runtime.kill()
    return sid, token, modules


def test_a_build_cut_by_a_crash_continues_on_the_next_runtime(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path), "OFFLINE_MODEL_LATENCY_MS": "80"}
    with start_runtime(env) as first:
        sid, token, modules = _kill_with_three_builders_working(first)
    with start_runtime(env) as second:
        watch = second.action(sid, token, "watch")
        check_stream(watch)
        opening = last_snapshot(watch[:3])
        statuses = [m["status"] for m in opening["canvas"]["modules"]]
        assert "built" in statuses, "a module built before the crash stays built"
        assert all(m["tasks"] for m in opening["canvas"]["modules"] if m["status"] == "built")
        assert "building" not in [m["status"] for m in opening["canvas"]["modules"]] or any(
            f.type == "SUBAGENT_STARTED" for f in watch
        )
        final = last_snapshot(watch)
        assert final["phase"] == "refinement"
        assert [m["status"] for m in final["canvas"]["modules"]] == ["built"] * modules
        assert all(m["tasks"] for m in final["canvas"]["modules"])
        rebuilt = {f.event["metadata"]["module_index"] for f in watch if f.type == "SUBAGENT_STARTED"}
        assert rebuilt and len(rebuilt) < modules, "only the unfinished modules are built again"
        # no task was added twice to a module that was cut mid-build
        for module in final["canvas"]["modules"]:
            titles = [t["title"] for t in module["tasks"]]
            assert len(titles) == len(set(titles)), module["title"]
        after = second.chat(sid, token, "rename module 1 to Kickoff call")
        check_stream(after)
        assert after[-1].event["outcome"] == {"type": "success"}


def test_a_cut_build_can_wait_for_build_it_and_stop_and_reset_always_work(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path), "OFFLINE_MODEL_LATENCY_MS": "80"}
    with start_runtime(env) as first:
        sid, token, modules = _kill_with_three_builders_working(first)
    with start_runtime({**env, "BUILD_RECOVERY": "wait"}) as second:
        watch = second.action(sid, token, "watch")
        check_stream(watch)
        assert not any(f.type == "SUBAGENT_STARTED" for f in watch)
        waiting = last_snapshot(watch)
        assert waiting["phase"] == "refinement"
        pending = [m for m in waiting["canvas"]["modules"] if m["status"] == "pending"]
        assert pending and all("build it" in (m["reason"] or "") for m in pending)
        # stop on a session with nothing running: it answers, and nothing is stuck
        stop = second.action(sid, token, "stop")
        check_stream(stop)
        assert stop[-1].event["outcome"] == {"type": "cancelled"}
        frames = second.chat(sid, token, "build it")
        check_stream(frames)
        assert [name for name, _ in tool_calls(frames)] == ["build_modules"]
        rebuilt = tool_calls(frames)[0][1]["module_indices"]
        assert len(rebuilt) == len(pending)
        watched = second.action(sid, token, "watch", last_event_id=frames[-1].id)
        check_stream(watched)
        assert [m["status"] for m in last_snapshot(watched)["canvas"]["modules"]] == ["built"] * modules
    # a stop that lands first on a restarted runtime settles the cut build as stopped
    with start_runtime(env) as third:
        sid, token, _ = _kill_with_three_builders_working(third)
    with start_runtime(env) as fourth:
        stop = fourth.action(sid, token, "stop")
        check_stream(stop)
        stopped = last_snapshot(stop)
        assert stopped["phase"] == "refinement"
        assert "building" not in [m["status"] for m in stopped["canvas"]["modules"]]
        watch = fourth.action(sid, token, "watch")
        assert not any(f.type == "SUBAGENT_STARTED" for f in watch)
        assert custom(watch, "portal.done")[-1]["phase"] == "refinement"
        reset = fourth.action(sid, token, "reset")
        check_stream(reset)
        assert last_snapshot(fourth.action(sid, token, "watch"))["canvas"]["modules"] == []


def test_a_turn_cut_by_a_crash_leaves_canvas_and_conversation_in_agreement(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path)}
    hold = tmp_path / "hold"
    prompt = "add a module about customer notification"
    with start_runtime({**env, "OFFLINE_MODEL_HOLD_FILE": str(hold)}) as first:
        sid, token = first.new_session()
        outline = first.chat(sid, token, ONBOARDING)
        modules = len(last_snapshot(outline)["canvas"]["modules"])
        hold.write_text("orchestrator pass=1", encoding="utf-8")  # the turn's second model call waits
        turn = first.stream_in_thread(first.body(sid, token, "chat", prompt=prompt), session_id=sid)
        # the add_module call has gone out; the turn waits for its reply and has stored nothing
        turn.wait_for(lambda fs: any(f.type == "TOOL_CALL_END" for f in fs))
        first.kill()
    hold.unlink()
    with start_runtime(env) as second:
        watch = second.action(sid, token, "watch")
        canvas_before = last_snapshot(watch)
        assert len(canvas_before["canvas"]["modules"]) == modules  # the cut turn is not on the canvas
        again = second.chat(sid, token, prompt)  # "Try again"
        check_stream(again)
        reply = text_of(again)
        after = last_snapshot(again)["canvas"]["modules"]
        titles = [m["title"] for m in after]
        assert len(after) == modules + 1, (reply, titles)
        assert "notification" in titles[-1].lower()
        assert f"module {modules + 1}" in reply.lower() or titles[-1].lower() in reply.lower(), reply
        assert types_of(again)[-1] == "RUN_FINISHED"
        reload = second.action(sid, token, "watch")
        assert last_snapshot(reload)["canvas"]["modules"] == after
