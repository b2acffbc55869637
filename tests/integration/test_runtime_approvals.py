"""Human approval over HTTP: a real runtime pauses a big build and continues on each decision."""

from __future__ import annotations

import calendar
import threading
import time
from typing import Any

import pytest

from tests.support.runtime_process import RuntimeProcess, start_runtime
from tests.support.sse import Frame, check_stream, custom, text_of, tool_calls, types_of

TWELVE = (
    "Create a playbook with 12 modules: intake, kickoff, discovery, design, build, test, train, launch, "
    "support, review, audit, close"
)


def _snapshot(frames: list[Frame]) -> dict[str, Any]:
    return dict([f.event["snapshot"] for f in frames if f.type == "STATE_SNAPSHOT"][-1])


def _interrupt(frames: list[Frame]) -> dict[str, Any]:
    outcome = frames[-1].event["outcome"]
    assert outcome["type"] == "interrupt", outcome
    (item,) = outcome["interrupts"]
    return dict(item)


def _paused(runtime: RuntimeProcess) -> tuple[str, str, dict[str, Any]]:
    sid, token = runtime.new_session()
    outline = runtime.chat(sid, token, TWELVE)
    check_stream(outline)
    assert len(_snapshot(outline)["canvas"]["modules"]) == 12
    frames = runtime.chat(sid, token, "build it")
    check_stream(frames)
    assert types_of(frames) == ["RUN_STARTED", "STATE_SNAPSHOT", "CUSTOM:portal.done", "RUN_FINISHED"]
    return sid, token, _interrupt(frames)


def _resume(
    runtime: RuntimeProcess, sid: str, token: str, item: dict[str, Any], decision: str, **extra: Any
) -> list[Frame]:
    return runtime.action(sid, token, "resume_interrupt", interrupt_id=item["id"], decision=decision, **extra)


def _code(frames: list[Frame]) -> str:
    assert types_of(frames) == ["RUN_ERROR"], types_of(frames)
    return str(frames[0].event["code"])


def test_approve_runs_the_build_and_the_watch_sees_it_to_refinement(runtime: RuntimeProcess) -> None:
    sid, token, item = _paused(runtime)
    assert item["reason"] == "build_modules:count>8"
    assert (
        item["metadata"]["expires_at"] == item["expiresAt"] and item["metadata"]["interrupt_id"] == item["id"]
    )

    frames = _resume(runtime, sid, token, item, "approve")
    check_stream(frames)
    assert tool_calls(frames) == [("build_modules", {"module_indices": list(range(12))})]
    assert "Building 12 modules" in text_of(frames)

    watched = runtime.action(sid, token, "watch", last_event_id=frames[2].id)  # from TOOL_CALL_END
    check_stream(watched)
    assert sum(1 for f in watched if f.type == "SUBAGENT_STARTED") == 12
    assert _snapshot(watched)["phase"] == "refinement"
    assert all(m["tasks"] for m in _snapshot(watched)["canvas"]["modules"])

    assert _code(_resume(runtime, sid, token, item, "approve")) == "INTERRUPT_ANSWERED"  # a replay


def test_reject_builds_nothing_and_the_assistant_says_why(runtime: RuntimeProcess) -> None:
    sid, token, item = _paused(runtime)
    frames = _resume(runtime, sid, token, item, "reject")
    check_stream(frames)
    assert "rejected the request to build 12 modules" in text_of(frames)
    assert "build_modules" not in [name for name, _ in tool_calls(frames)]
    snapshot = _snapshot(frames)
    assert snapshot["phase"] == "outline" and not any(m["tasks"] for m in snapshot["canvas"]["modules"])
    assert runtime.stats()["builders_working"] == 0


def test_add_context_continues_with_the_persons_instructions(runtime: RuntimeProcess) -> None:
    sid, token, item = _paused(runtime)
    frames = _resume(runtime, sid, token, item, "add_context", context="only build the first 5 modules")
    check_stream(frames)
    assert tool_calls(frames) == [("build_modules", {"module_indices": [0, 1, 2, 3, 4]})]
    watched = runtime.action(sid, token, "watch")
    built = [m for m in _snapshot(watched)["canvas"]["modules"] if m["tasks"]]
    assert len(built) == 5


def test_reroute_hands_the_request_back_to_the_router(runtime: RuntimeProcess) -> None:
    sid, token, item = _paused(runtime)
    frames = _resume(runtime, sid, token, item, "reroute")
    check_stream(frames)
    # the router classifies "build it" again and hands it back to the orchestrator,
    # which asks again: a new approval request for the same build
    assert types_of(frames)[:2] == ["RUN_STARTED", "CUSTOM:control.handoff"]
    assert custom(frames, "control.handoff")[0]["target"] == "playbooks"
    again = _interrupt(frames)
    assert again["id"] != item["id"] and again["reason"] == item["reason"]
    assert _code(_resume(runtime, sid, token, item, "approve")) == "INTERRUPT_ANSWERED"


def test_unknown_foreign_and_expired_interrupts_are_refused() -> None:
    with start_runtime({"INTERRUPT_TTL_SECONDS": "1"}) as runtime:
        sid, token, item = _paused(runtime)
        assert _code(_resume(runtime, sid, token, {"id": "int_nope"}, "approve")) == "INTERRUPT_UNKNOWN"
        stranger = runtime.codec.mint(sid=sid, uid=99, vid=1, typ="copilot")
        assert _code(_resume(runtime, sid, stranger, item, "approve")) == "IDENTITY_MISMATCH"

        expires = calendar.timegm(time.strptime(item["expiresAt"], "%Y-%m-%dT%H:%M:%SZ"))
        clock = threading.Event()
        while time.time() <= expires:  # wait on the clock itself, until the expiry has passed
            clock.wait(expires - time.time() + 0.01)
        assert _code(_resume(runtime, sid, token, item, "approve")) == "INTERRUPT_EXPIRED"
        assert _code(_resume(runtime, sid, token, item, "approve")) == "INTERRUPT_EXPIRED"
        assert runtime.stats()["builders_working"] == 0

        frames = runtime.chat(sid, token, "rename module 1 to Welcome")  # the session goes on
        check_stream(frames)
        assert _snapshot(frames)["canvas"]["modules"][0]["title"] == "Welcome"
        assert not any(m["tasks"] for m in _snapshot(frames)["canvas"]["modules"])


@pytest.mark.parametrize("threshold", ["20"])
def test_the_threshold_is_configuration(threshold: str) -> None:
    with start_runtime({"APPROVAL_BUILD_THRESHOLD": threshold}) as runtime:
        sid, token = runtime.new_session()
        check_stream(runtime.chat(sid, token, TWELVE))
        frames = runtime.chat(sid, token, "build it")
        check_stream(frames)
        assert frames[-1].event["outcome"] == {"type": "success"}
        assert tool_calls(frames)[0][0] == "build_modules"
