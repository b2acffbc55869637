"""What a runtime finds in the store after a crash, and how it puts the session right."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent_runtime.canvas import Canvas
from agent_runtime.contract import Phase
from agent_runtime.persistence import STOPPED_REASON, WAITING_REASON, settle_cut_build
from agent_runtime.session.cache import AgentSessionCache
from agent_runtime.session.store.journal import JOURNAL_FILE, read_messages
from tests.support.sse import check_stream, text_of
from tests.unit.agent_runtime.conftest import SID

ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"
ADD = "add a module about customer notification"


def _stored_text(data: Path) -> str:
    return json.dumps(read_messages(data / "sessions" / f"session_{SID}" / JOURNAL_FILE))


def test_a_turn_cut_before_its_write_is_dropped_so_canvas_and_chat_agree(
    make_harness: Any, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = make_harness(None, DATA_DIR=str(data))
    outline = first.chat(ONBOARDING)
    modules = len(
        [f for f in outline if f.type == "STATE_SNAPSHOT"][-1].event["snapshot"]["canvas"]["modules"]
    )
    # The runtime dies before the turn's write. The file store's journal commits a turn whole
    # (conversation and canvas in one line), so nothing of the cut turn is stored; stores that
    # write each message as it is added are truncated on opening (test_session_store).
    first.services.writer.persist_quietly = lambda entry: None  # type: ignore[method-assign]
    cut = first.chat(ADD)
    assert "Customer Notification" in text_of(cut) and "Customer Notification" not in _stored_text(data)

    second = make_harness(None, DATA_DIR=str(data))
    claims = second.services.codec.verify(second.token())
    entry = second.services.keeper.open(claims, create=False)
    assert entry is not None and entry.canvas.module_count == modules
    agent, _ = second.services.keeper.orchestrator(entry)
    said = json.dumps(agent.messages)
    assert "Customer Notification" not in said, "the conversation claims a change the canvas lacks"
    assert "Customer Notification" not in _stored_text(data)

    again = second.chat(ADD)  # "Try again"
    check_stream(again)
    after = [f for f in again if f.type == "STATE_SNAPSHOT"][-1].event["snapshot"]["canvas"]["modules"]
    assert len(after) == modules + 1 and after[-1]["title"] == "Customer Notification"
    assert f"module {modules + 1}" in text_of(again)


def _canvas(statuses: list[str]) -> Canvas:
    modules = [
        {"title": f"M{i}", "status": status, "tasks": [{"title": "T"}] if status != "pending" else []}
        for i, status in enumerate(statuses)
    ]
    return Canvas({"title": "P", "modules": modules}, phase=Phase.BUILDING, version=7)


@pytest.mark.parametrize("mode", ["continue", "wait", "stop"])
def test_a_cut_build_keeps_built_modules_and_settles_the_unfinished(mode: str) -> None:
    cache = AgentSessionCache(capacity=2, idle_seconds=60, event_log_size=16)
    entry = cache.new_entry(SID, user_id=1, vendor_id=1, agent_type="copilot")
    # built, cut mid-build (partial tasks), not yet started, failed, never part of the build
    entry.canvas = _canvas(["built", "building", "pending", "failed", "pending"])
    again = settle_cut_build(entry, [0, 1, 2, 3], mode)
    modules = entry.canvas.playbook.modules
    assert modules[0].status == "built" and modules[0].tasks, "built modules stay"
    assert modules[3].status == "failed" and modules[4].status == "pending"
    assert modules[4].reason is None, "a module outside the build is left alone"
    if mode == "continue":
        assert again == [1, 2] and entry.canvas.phase == Phase.BUILDING
        assert [m.status for m in modules[1:3]] == ["pending", "pending"] and not modules[1].tasks
    elif mode == "wait":
        assert again == [] and entry.canvas.phase == Phase.REFINEMENT
        assert [(m.status, m.reason) for m in modules[1:3]] == [("pending", WAITING_REASON)] * 2
        assert not modules[1].tasks, "a half-built module's partial tasks are dropped"
    else:
        assert again == [] and entry.canvas.phase == Phase.REFINEMENT
        assert [(m.status, m.reason) for m in modules[1:3]] == [("failed", STOPPED_REASON)] * 2
    assert entry.canvas.version > 7


def test_a_session_not_mid_build_is_left_alone() -> None:
    cache = AgentSessionCache(capacity=2, idle_seconds=60, event_log_size=16)
    entry = cache.new_entry(SID, user_id=1, vendor_id=1, agent_type="copilot")
    entry.canvas = Canvas(
        {"title": "P", "modules": [{"title": "M", "status": "pending"}]}, phase=Phase.OUTLINE
    )
    assert settle_cut_build(entry, [0], "continue") == []
    assert entry.canvas.phase == Phase.OUTLINE and entry.canvas.version == 0
