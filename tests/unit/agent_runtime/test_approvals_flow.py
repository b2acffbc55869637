"""Approvals and durable sessions in-process, with the offline model and a file store per test."""

from __future__ import annotations

import calendar
import time
from pathlib import Path
from typing import Any

import pytest

from agent_runtime.contract import ErrorCode
from agent_runtime.session.store.journal import JOURNAL_FILE, read_messages
from tests.support.sse import Frame, check_stream, text_of, tool_calls, types_of
from tests.unit.agent_runtime.conftest import SID

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


def _paused(harness: Any, sid: str = SID) -> tuple[dict[str, Any], list[Frame]]:
    check_stream(harness.chat(TWELVE, sid))
    frames = harness.chat("build it", sid)
    check_stream(frames)
    return _interrupt(frames), frames


def _error(frames: list[Frame]) -> str:
    assert types_of(frames) == ["RUN_ERROR"], types_of(frames)
    return str(frames[0].event["code"])


def test_a_big_build_pauses_before_the_tool_runs(make_harness: Any) -> None:
    harness = make_harness(None)
    before = time.time()
    item, frames = _paused(harness)
    assert types_of(frames) == ["RUN_STARTED", "STATE_SNAPSHOT", "CUSTOM:portal.done", "RUN_FINISHED"]
    assert tool_calls(frames) == []  # the paused call was never announced
    assert _snapshot(frames)["phase"] == "outline"
    assert item["reason"] == "build_modules:count>8" and "12 modules" in item["message"]
    assert item["id"].startswith("int_") and item["toolCallId"]
    meta = item["metadata"]
    assert meta["interrupt_id"] == item["id"] and meta["expires_at"] == item["expiresAt"]
    expires = calendar.timegm(time.strptime(meta["expires_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert before + 3600 - 2 <= expires <= time.time() + 3600 + 1


def test_approve_runs_the_paused_call_and_a_replay_is_refused(make_harness: Any) -> None:
    harness = make_harness(None)
    item, _ = _paused(harness)
    frames = harness.action("resume_interrupt", interrupt_id=item["id"], decision="approve")
    check_stream(frames)
    assert tool_calls(frames) == [("build_modules", {"module_indices": list(range(12))})]
    assert "Building 12 modules" in text_of(frames)
    assert frames[-1].event["outcome"] == {"type": "success"}
    assert _error(harness.action("resume_interrupt", interrupt_id=item["id"], decision="approve")) == (
        ErrorCode.INTERRUPT_ANSWERED
    )
    assert _error(harness.action("resume_interrupt", interrupt_id="int_unknown", decision="approve")) == (
        ErrorCode.INTERRUPT_UNKNOWN
    )
    watched = harness.action("watch")
    assert _snapshot(watched)["phase"] == "refinement"


def test_reject_runs_nothing_and_says_so(make_harness: Any) -> None:
    harness = make_harness(None)
    item, _ = _paused(harness)
    frames = harness.action(
        "resume_interrupt", interrupt_id=item["id"], decision="reject", context="too many"
    )
    check_stream(frames)
    assert [name for name, _ in tool_calls(frames)] == ["suggest_replies"]
    assert "rejected" in text_of(frames) and "too many" in text_of(frames)
    snapshot = _snapshot(frames)
    assert snapshot["phase"] == "outline" and all(not m["tasks"] for m in snapshot["canvas"]["modules"])


def test_expired_interrupts_are_refused_and_never_run(
    make_harness: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = make_harness(None, INTERRUPT_TTL_SECONDS="60")
    item, _ = _paused(harness)

    class Later:
        @staticmethod
        def time() -> float:
            return time.time() + 61

    monkeypatch.setattr("agent_runtime.actions.resume.time", Later)
    for _ in range(2):  # still expired when asked again
        assert _error(harness.action("resume_interrupt", interrupt_id=item["id"], decision="approve")) == (
            ErrorCode.INTERRUPT_EXPIRED
        )
    frames = harness.chat("rename module 1 to Welcome")  # the next message closes it; the turn works
    check_stream(frames)
    assert [name for name, _ in tool_calls(frames)][0] == "update_module"


def test_a_new_message_supersedes_a_pending_interrupt(make_harness: Any) -> None:
    harness = make_harness(None)
    item, _ = _paused(harness)
    frames = harness.chat("build modules 1 and 2")
    check_stream(frames)
    assert tool_calls(frames)[0] == ("build_modules", {"module_indices": [0, 1]})
    assert _error(harness.action("resume_interrupt", interrupt_id=item["id"], decision="approve")) == (
        ErrorCode.INTERRUPT_EXPIRED
    )


def test_removing_a_module_with_tasks_needs_approval(make_harness: Any) -> None:
    harness = make_harness(None)
    check_stream(harness.chat(TWELVE))
    check_stream(harness.chat("build module 2"))
    assert _snapshot(harness.action("watch"))["phase"] == "refinement"
    frames = harness.chat("remove module 2")
    item = _interrupt(frames)
    assert item["reason"] == "remove_module:has_tasks" and "tasks" in item["message"]
    check_stream(harness.action("resume_interrupt", interrupt_id=item["id"], decision="approve"))
    assert len(_snapshot(harness.action("watch"))["canvas"]["modules"]) == 11


def _stored_prompts(data: Path, sid: str) -> list[str]:
    prompts = []
    for message in read_messages(data / "sessions" / f"session_{sid}" / JOURNAL_FILE):
        if message["role"] == "user":
            prompts += [block["text"] for block in message["content"] if "text" in block]
    return prompts


def test_two_runtimes_share_sessions_and_a_stale_copy_is_reloaded(make_harness: Any, tmp_path: Path) -> None:
    data = tmp_path / "shared"
    one = make_harness(None, DATA_DIR=str(data))
    two = make_harness(None, DATA_DIR=str(data))
    check_stream(one.chat(TWELVE))
    first = _snapshot(one.chat("rename module 1 to Welcome"))
    second = _snapshot(two.chat("rename module 2 to Kickoff Call"))
    assert second["version"] > first["version"]
    assert [m["title"] for m in second["canvas"]["modules"][:2]] == ["Welcome", "Kickoff Call"]
    third = _snapshot(one.chat("rename module 3 to Scoping"))  # one's cached copy is stale: reloaded
    assert [m["title"] for m in third["canvas"]["modules"][:3]] == ["Welcome", "Kickoff Call", "Scoping"]
    assert third["version"] > second["version"]
    assert _stored_prompts(data, SID) == [
        TWELVE,
        "rename module 1 to Welcome",
        "rename module 2 to Kickoff Call",
        "rename module 3 to Scoping",
    ]


def test_a_pending_interrupt_survives_and_identity_holds_after_rehydration(
    make_harness: Any, tmp_path: Path
) -> None:
    data = tmp_path / "shared"
    one = make_harness(None, DATA_DIR=str(data))
    item, _ = _paused(one)
    two = make_harness(None, DATA_DIR=str(data))
    stranger = {"session_id": SID, "token": two.token(uid=2), "action": "resume_interrupt"}
    refused = two.run({**stranger, "interrupt_id": item["id"], "decision": "approve"})
    assert _error(refused) == ErrorCode.IDENTITY_MISMATCH
    other_vendor = {"session_id": SID, "token": two.token(vid=9), "action": "chat", "prompt": "hi"}
    assert _error(two.run(other_vendor)) == ErrorCode.IDENTITY_MISMATCH
    frames = two.action("resume_interrupt", interrupt_id=item["id"], decision="approve")
    check_stream(frames)
    assert tool_calls(frames)[0][0] == "build_modules"


def test_reset_deletes_the_stored_session(make_harness: Any, tmp_path: Path) -> None:
    data = tmp_path / "shared"
    one = make_harness(None, DATA_DIR=str(data))
    check_stream(one.chat(TWELVE))
    assert (data / "sessions" / f"session_{SID}").is_dir()
    two = make_harness(None, DATA_DIR=str(data))
    check_stream(two.action("reset"))
    assert not (data / "sessions" / f"session_{SID}").exists()
    frames = one.chat("Onboard new clients with a kickoff call")  # one's stale copy is dropped
    assert "CUSTOM:control.handoff" in types_of(frames)


def test_a_rejection_holds_even_if_the_rules_changed_before_it_was_answered(make_harness: Any) -> None:
    """Paused under one configuration, answered on a runtime started without approval rules."""
    item, _ = _paused(make_harness(None))
    restarted = make_harness(None, APPROVAL_RULES="none")  # same data folder: the session rehydrates
    frames = restarted.action("resume_interrupt", interrupt_id=item["id"], decision="reject")
    check_stream(frames)
    assert "build_modules" not in [name for name, _ in tool_calls(frames)]
    assert "reject" in text_of(frames).lower()
    assert _snapshot(frames)["phase"] == "outline"
