"""The canvas history on its own: steps, bounds, the durable form, and exact restores."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent_runtime.canvas import Canvas, CanvasError
from agent_runtime.canvas_edits import apply_edit, commit_step, redo, undo
from agent_runtime.contract import EditOp, ErrorCode, Limits
from agent_runtime.history import CanvasHistory, HistoryError


def _outline(n: int = 3) -> dict[str, Any]:
    return {"title": "Onboarding", "modules": [{"title": f"Module {i}"} for i in range(n)]}


def _op(tool: str, **args: Any) -> EditOp:
    return EditOp(tool=tool, args=args)


def test_each_step_undoes_and_redoes_exactly() -> None:
    canvas = Canvas()
    states = [canvas.state()]
    canvas.apply("set_playbook_outline", _outline())
    commit_step(canvas, "chat")
    states.append(canvas.state())
    canvas.apply("move_module", {"from_index": 2, "to_index": 0})
    canvas.apply("update_module", {"module_index": 1, "title": "Renamed"})
    commit_step(canvas, "chat")
    states.append(canvas.state())
    canvas.apply("add_tasks", {"module_index": 0, "tasks": [{"title": "T", "steps": [{"title": "S"}]}]})
    canvas.set_phase("refinement")
    commit_step(canvas, "build")
    states.append(canvas.state())

    for expected in reversed(states[:-1]):
        undo(canvas)
        assert canvas.state() == expected
    with pytest.raises(HistoryError) as caught:
        undo(canvas)
    assert caught.value.code == ErrorCode.NOTHING_TO_UNDO
    for expected in states[1:]:
        redo(canvas)
        assert canvas.state() == expected
    with pytest.raises(HistoryError) as caught:
        redo(canvas)
    assert caught.value.code == ErrorCode.NOTHING_TO_REDO
    assert canvas.version == 3 + 1 + 1 + 3 + 3  # every change, undo and redo is a new version


def test_changes_not_yet_recorded_are_what_undo_takes_back() -> None:
    canvas = Canvas(_outline())
    canvas.apply("remove_module", {"module_index": 0})  # e.g. settled after a crash, no step closed
    assert canvas.snapshot()["history"] == {"can_undo": True, "can_redo": False}
    label = undo(canvas)
    assert label == "changes" and canvas.playbook.modules[0].title == "Module 0"


def test_flags_follow_the_canvas() -> None:
    canvas = Canvas(_outline())
    assert canvas.snapshot()["history"] == {"can_undo": False, "can_redo": False}
    apply_edit(canvas, [_op("update_module", module_index=0, title="X")])
    assert canvas.snapshot()["history"] == {"can_undo": True, "can_redo": False}
    undo(canvas)
    assert canvas.snapshot()["history"] == {"can_undo": False, "can_redo": True}
    canvas.apply("update_playbook", {"title": "Changed meanwhile"})
    assert canvas.snapshot()["history"] == {"can_undo": True, "can_redo": False}  # the redo is stale


def test_a_refused_op_leaves_canvas_version_and_history_alone() -> None:
    canvas = Canvas(_outline(), version=7)
    before = canvas.to_dict()
    with pytest.raises(CanvasError) as caught:
        apply_edit(
            canvas,
            [
                _op("update_module", module_index=0, title="X"),
                _op("update_task", module_index=0, task_index=0, title="Y"),
            ],
        )
    assert caught.value.code == "NOT_FOUND" and caught.value.message.startswith("op 1 (update_task)")
    assert canvas.to_dict() == before


def test_the_history_is_bounded_in_steps_and_bytes() -> None:
    canvas = Canvas(_outline(1))
    for i in range(Limits.MAX_UNDO_STEPS + 10):
        apply_edit(canvas, [_op("update_module", module_index=0, title=f"Title {i}")])
    assert canvas.history.undo_steps == Limits.MAX_UNDO_STEPS

    small = CanvasHistory({"phase": "empty", "canvas": {}}, max_bytes=2_000)
    for i in range(20):
        small.commit({"phase": "outline", "canvas": {"title": "x" * 200 + str(i)}}, "chat")
    assert 0 < small.undo_steps < 20
    assert len(json.dumps(small.to_dict({"phase": "outline", "canvas": {"title": "x" * 200 + "19"}}))) < 4_000


def test_the_durable_form_round_trips_with_pending_changes() -> None:
    canvas = Canvas()
    canvas.apply("set_playbook_outline", _outline())
    commit_step(canvas, "chat")
    apply_edit(canvas, [_op("remove_module", module_index=1)])
    undo(canvas)
    canvas.apply("update_playbook", {"title": "Pending"})  # not a step yet (a build running, say)
    canvas.history.note("removed module 2")

    stored = json.loads(json.dumps(canvas.to_dict()))
    again = Canvas.from_dict(stored)
    assert again.snapshot() == canvas.snapshot()
    assert again.summary_for_prompt().endswith("since your last turn: removed module 2.")
    assert undo(again) == "changes" and undo(again) == "chat"
    assert again.state()["canvas"]["modules"] == []


@pytest.mark.parametrize(
    "garbage", [None, {"format": 9}, {"format": 1, "undo": "x"}, {"format": 1, "tip": [{"op": "bad"}]}]
)
def test_an_unreadable_stored_history_starts_empty(garbage: Any) -> None:
    data = Canvas(_outline()).to_dict()
    data["undo_history"] = garbage
    canvas = Canvas.from_dict(data)
    assert canvas.snapshot()["history"] == {"can_undo": False, "can_redo": False}
    assert canvas.module_count == 3


def test_a_patch_that_cannot_reproduce_its_target_falls_back_to_the_whole_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import agent_runtime.history as history

    class Wrong:
        patch = [{"op": "replace", "path": "/phase", "value": "outline"}]

    monkeypatch.setattr(history.jsonpatch, "make_patch", lambda a, b: Wrong())
    monkeypatch.setattr(history, "WHOLE_STATE_BYTES", 0)  # diff even the empty canvas
    canvas = Canvas()
    canvas.apply("set_playbook_outline", _outline())
    after = canvas.state()
    commit_step(canvas, "chat")
    undo(canvas)
    assert canvas.state() == Canvas().state()
    redo(canvas)
    assert canvas.state() == after


def test_a_small_target_is_stored_whole_without_a_diff(monkeypatch: pytest.MonkeyPatch) -> None:
    """A first turn (empty canvas -> outline) undoes to the empty canvas: stored whole, never diffed."""
    import agent_runtime.history as history

    def no_diff(a: Any, b: Any) -> Any:
        raise AssertionError("a small target must not be diffed")

    canvas = Canvas()
    empty = canvas.state()
    canvas.apply("set_playbook_outline", _outline(12))
    outline = canvas.state()
    assert len(json.dumps(outline)) > history.WHOLE_STATE_BYTES >= len(json.dumps(empty))
    monkeypatch.setattr(history.jsonpatch, "make_patch", no_diff)
    commit_step(canvas, "chat")
    assert canvas.to_dict()["undo_history"]["undo"] == [
        {"patch": [{"op": "replace", "path": "", "value": empty}], "label": "chat"}
    ]
    monkeypatch.undo()  # redo's target is the outline: big enough to be diffed
    assert undo(canvas) == "chat" and canvas.state() == empty
    redo_patch = canvas.to_dict()["undo_history"]["redo"][0]["patch"]
    assert all(op["path"] != "" for op in redo_patch)  # a real diff, not the whole outline
    redo(canvas)
    assert canvas.state() == outline
    stored = Canvas.from_dict(json.loads(json.dumps(canvas.to_dict())))
    undo(stored)
    assert stored.state() == empty
