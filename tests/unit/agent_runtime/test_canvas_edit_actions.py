"""``edit``, ``undo`` and ``redo`` through the dispatcher: streams, history, durability, races.

The offline model answers the chat turns (the product's own), scripted models where a turn or a
build must be held open at an exact point (an Event, never a sleep).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agent_runtime.contract import ErrorCode
from agent_runtime.models.scripted import ScriptedModel, Step
from tests.support.sse import Frame, check_stream, tool_calls, types_of
from tests.unit.agent_runtime.conftest import SID, ScriptedModels

PROMPT = "Onboard new clients with a kickoff call, document collection and a 30-day review"
DONE = ["RUN_STARTED", "STATE_SNAPSHOT", "RUN_FINISHED"]
REFUSED = ["RUN_STARTED", "STATE_SNAPSHOT", "RUN_ERROR"]


def _state(frames: list[Frame]) -> dict[str, Any]:
    """The last snapshot without ``usage``."""
    snapshot = [f.event["snapshot"] for f in frames if f.type == "STATE_SNAPSHOT"][-1]
    return {k: v for k, v in snapshot.items() if k != "usage"}


def _error(frames: list[Frame]) -> str:
    assert frames[-1].type == "RUN_ERROR", types_of(frames)
    return str(frames[-1].event["code"])


def _rename(version: int, index: int, title: str) -> dict[str, Any]:
    return {
        "base_version": version,
        "ops": [{"tool": "update_module", "args": {"module_index": index, "title": title}}],
    }


def test_undo_and_redo_round_trip_the_canvas_exactly(make_harness: Any) -> None:
    harness = make_harness(None)
    first = _state(harness.chat(PROMPT))
    assert first["history"] == {"can_undo": True, "can_redo": False}
    second = _state(harness.chat("rename module 2 to Kickoff call"))
    assert second["canvas"]["modules"][1]["title"] == "Kickoff call"

    undone = harness.action("undo")
    check_stream(undone)
    assert types_of(undone) == DONE
    state = _state(undone)
    assert state["canvas"] == first["canvas"] and state["phase"] == first["phase"]
    assert state["version"] > second["version"]  # undo is a new version
    assert state["history"] == {"can_undo": True, "can_redo": True}

    redone = harness.action("redo")
    check_stream(redone)
    assert types_of(redone) == DONE
    state = _state(redone)
    assert state["canvas"] == second["canvas"] and state["version"] > second["version"] + 1
    assert state["history"] == {"can_undo": True, "can_redo": False}

    # back to the empty canvas, and nothing further
    harness.action("undo")
    empty = _state(harness.action("undo"))
    assert empty["canvas"]["modules"] == [] and empty["phase"] == "empty"
    refused = harness.action("undo")
    check_stream(refused)
    assert types_of(refused) == REFUSED and _error(refused) == ErrorCode.NOTHING_TO_UNDO
    assert _state(refused) == empty


def test_a_new_change_ends_what_could_be_redone(make_harness: Any) -> None:
    harness = make_harness(None)
    harness.chat(PROMPT)
    harness.chat("rename module 1 to Welcome")
    version = _state(harness.action("undo"))["version"]
    harness.action("edit", **_rename(version, 0, "Hello"))
    refused = harness.action("redo")
    assert types_of(refused) == REFUSED and _error(refused) == ErrorCode.NOTHING_TO_REDO
    assert _state(refused)["canvas"]["modules"][0]["title"] == "Hello"


def test_a_direct_edit_applies_all_ops_as_one_version_and_one_undo_step(make_harness: Any) -> None:
    harness = make_harness(None)
    before = _state(harness.chat(PROMPT))
    titles = [m["title"] for m in before["canvas"]["modules"]]
    ops = [
        {"tool": "update_module", "args": {"module_index": 0, "title": "Welcome call"}},
        {"tool": "move_module", "args": {"from_index": 0, "to_index": 2}},
        {"tool": "add_tasks", "args": {"module_index": 0, "tasks": [{"title": "Send the agenda"}]}},
        {
            "tool": "update_task",
            "args": {"module_index": 0, "task_index": 0, "title": "Send the agenda early"},
        },
    ]
    frames = harness.action("edit", base_version=before["version"], ops=ops)
    check_stream(frames)
    assert types_of(frames) == DONE
    after = _state(frames)
    assert after["version"] == before["version"] + 1
    modules = after["canvas"]["modules"]
    assert [m["title"] for m in modules][:3] == [titles[1], titles[2], "Welcome call"]
    assert modules[0]["tasks"] == [{"title": "Send the agenda early", "description": "", "steps": []}]

    removed = harness.action(
        "edit",
        base_version=after["version"],
        ops=[{"tool": "remove_task", "args": {"module_index": 0, "task_index": 0}}],
    )
    assert _state(removed)["canvas"]["modules"][0]["tasks"] == []
    assert _state(harness.action("undo"))["canvas"] == after["canvas"]
    assert _state(harness.action("undo"))["canvas"] == before["canvas"]  # the four ops: one step


def test_an_edit_is_all_or_nothing(make_harness: Any) -> None:
    harness = make_harness(None)
    before = _state(harness.chat(PROMPT))
    ops = [
        {"tool": "update_module", "args": {"module_index": 0, "title": "Renamed"}},
        {"tool": "remove_module", "args": {"module_index": 19}},
    ]
    frames = harness.action("edit", base_version=before["version"], ops=ops)
    check_stream(frames)
    assert types_of(frames) == REFUSED and _error(frames) == ErrorCode.INVALID_PAYLOAD
    assert "op 1 (remove_module)" in frames[-1].event["message"]
    assert _state(frames) == before  # nothing changed, not even the version


def test_a_stale_base_version_is_refused_with_the_current_snapshot(make_harness: Any) -> None:
    harness = make_harness(None)
    seen = _state(harness.chat(PROMPT))
    current = _state(harness.chat("rename module 1 to Welcome"))  # another tab, say

    frames = harness.action("edit", **_rename(seen["version"], 0, "Stale rename"))
    check_stream(frames)
    assert types_of(frames) == REFUSED and _error(frames) == ErrorCode.VERSION_CONFLICT
    assert _state(frames) == current


def test_bad_ops_are_refused_with_the_current_canvas(make_harness: Any) -> None:
    harness = make_harness(None)
    current = _state(harness.chat(PROMPT))
    version = current["version"]
    for op, why in (
        ({"tool": "build_modules", "args": {}}, "op 0: 'build_modules' is not a tool a direct edit may use"),
        ({"tool": "suggest_replies", "args": {"replies": ["x"]}}, "is not a tool a direct edit may use"),
        ({"tool": "undo_last_change", "args": {}}, "is not a tool a direct edit may use"),
        ({"tool": "update_module", "args": {"module_index": 0, "title": ""}}, "op 0 (update_module): title"),
        ({"tool": "update_module", "args": {"module_index": 0, "name": "X"}}, "op 0 (update_module): name"),
    ):
        frames = harness.action("edit", base_version=version, ops=[op])
        check_stream(frames)
        assert types_of(frames) == REFUSED and _error(frames) == ErrorCode.INVALID_PAYLOAD
        assert why in frames[-1].event["message"]
        assert _state(frames) == current  # the tool's own schema, as for the agent's calls


def test_chat_words_undo_and_redo(make_harness: Any) -> None:
    harness = make_harness(None)
    first = _state(harness.chat(PROMPT))
    second = _state(harness.chat("remove the last module"))

    frames = harness.chat("undo")
    check_stream(frames)
    assert [name for name, _ in tool_calls(frames)][0] == "undo_last_change"
    assert _state(frames)["canvas"] == first["canvas"]
    snapshots = [f for f in frames if f.type == "STATE_SNAPSHOT"]
    assert len(snapshots) == 2  # right after the call, and the turn's closing one

    assert _state(harness.chat("redo"))["canvas"] == second["canvas"]
    assert _state(harness.chat("revert that"))["canvas"] == first["canvas"]
    text = "".join(f.event.get("delta", "") for f in harness.chat("redo") if f.type == "TEXT_MESSAGE_CONTENT")
    assert "redid" in text
    nothing = harness.chat("redo")
    assert "nothing to redo" in "".join(
        f.event.get("delta", "") for f in nothing if f.type == "TEXT_MESSAGE_CONTENT"
    )


def test_the_agent_sees_the_persons_changes_on_its_next_turn_only(make_harness: Any) -> None:
    outline = {
        "title": "Onboarding",
        "description": "",
        "modules": [{"title": "Kickoff"}, {"title": "Review"}],
    }
    note = "Changed by the person since your last turn: "

    def sees_changes(messages: Any, tools: Any, system_prompt: str | None) -> None:
        assert system_prompt is not None and "1. Welcome call [pending" in system_prompt
        assert note + "renamed module 1 to “Welcome call”; undid a change (moved module 2 to position 1)" in (
            system_prompt
        )
        assert '"history":{"can_undo":true,"can_redo":true}' in system_prompt

    def sees_no_news(messages: Any, tools: Any, system_prompt: str | None) -> None:
        assert system_prompt is not None and note not in system_prompt

    orchestrator = ScriptedModel(
        [
            Step(tool_calls=(("set_playbook_outline", outline),)),
            Step(text="Done."),
            Step(text="Ok.", check=sees_changes),
            Step(text="Ok.", check=sees_no_news),
        ]
    )
    router = ScriptedModel(
        [Step(tool_calls=(("RouterDecision", {"domain": "playbooks", "handoff_context": "x"}),))]
    )
    models = ScriptedModels({"router": [router], "orchestrator": [orchestrator]})
    harness = make_harness(models)
    version = _state(harness.chat("onboarding"))["version"]
    renamed = _state(harness.action("edit", **_rename(version, 0, "Welcome call")))
    move = {"tool": "move_module", "args": {"from_index": 1, "to_index": 0}}
    harness.action("edit", base_version=renamed["version"], ops=[move])
    harness.action("undo")
    harness.chat("what do you think?")
    harness.chat("and now?")
    models.assert_complete()


def test_history_survives_a_restart(make_harness: Any) -> None:
    first = make_harness(None)
    outline = _state(first.chat(PROMPT))
    renamed = _state(first.action("edit", **_rename(outline["version"], 1, "Paperwork")))

    again = make_harness(None)  # a second runtime on the same store (or this one after a restart)
    undone = again.action("undo")
    assert types_of(undone) == DONE and _state(undone)["canvas"] == outline["canvas"]
    assert _state(again.action("redo"))["canvas"] == renamed["canvas"]


def test_a_watch_resumed_from_before_an_edit_gets_the_new_canvas(make_harness: Any) -> None:
    harness = make_harness(None)
    chat = harness.chat(PROMPT)
    cursor = chat[-1].id
    edited = harness.action("edit", **_rename(_state(chat)["version"], 0, "Welcome"))
    frames = harness.action("watch", last_event_id=cursor)
    check_stream(frames)
    snapshots = [f for f in frames if f.type == "STATE_SNAPSHOT"]
    assert snapshots and snapshots[-1].id == [f for f in edited if f.type == "STATE_SNAPSHOT"][0].id
    assert _state(frames)["canvas"] == _state(edited)["canvas"]


def _held_orchestrator(reached: threading.Event, release: threading.Event) -> ScriptedModels:
    outline = {
        "title": "Onboarding",
        "description": "",
        "modules": [{"title": "Kickoff"}, {"title": "Review"}],
    }
    orchestrator = ScriptedModel(
        [
            Step(tool_calls=(("set_playbook_outline", outline),)),
            Step(text="Done."),
            Step(check=lambda *_: reached.set(), until=release, text="Thinking done."),
        ]
    )
    router = ScriptedModel(
        [Step(tool_calls=(("RouterDecision", {"domain": "playbooks", "handoff_context": "x"}),))]
    )
    return ScriptedModels({"router": [router], "orchestrator": [orchestrator]})


def test_an_edit_during_a_chat_turn_is_refused_busy_and_the_turn_is_untouched(make_harness: Any) -> None:
    reached, release = threading.Event(), threading.Event()
    harness = make_harness(_held_orchestrator(reached, release))
    version = _state(harness.chat("onboarding"))["version"]
    with ThreadPoolExecutor(1) as pool:
        turn = pool.submit(harness.chat, "hmm")
        assert reached.wait(10)  # the turn holds the session, inside its model call
        for frames in (
            harness.action("edit", **_rename(version, 0, "Welcome")),
            harness.action("undo"),
            harness.action("redo"),
        ):
            check_stream(frames)
            assert types_of(frames) == REFUSED and _error(frames) == ErrorCode.SESSION_BUSY
        release.set()
        finished = turn.result(10)
    check_stream(finished)
    assert finished[-1].type == "RUN_FINISHED"
    done = harness.action("edit", **_rename(_state(finished)["version"], 0, "Welcome"))
    assert types_of(done) == DONE


def test_edit_undo_and_redo_are_refused_while_a_build_runs_and_one_undo_takes_back_the_build(
    make_harness: Any,
) -> None:
    reached, release = threading.Event(), threading.Event()
    outline = {"title": "Onboarding", "description": "", "modules": [{"title": "Kickoff"}]}
    orchestrator = ScriptedModel(
        [
            Step(tool_calls=(("set_playbook_outline", outline),)),
            Step(text="Done."),
            Step(tool_calls=(("build_modules", {}),)),
            Step(text="Building."),
        ]
    )
    builder = ScriptedModel(
        [
            Step(
                check=lambda *_: reached.set(),
                until=release,
                tool_calls=(("add_tasks", {"module_index": 0, "tasks": [{"title": "Book the call"}]}),),
            ),
            Step(text="Built."),
        ]
    )
    router = ScriptedModel(
        [Step(tool_calls=(("RouterDecision", {"domain": "playbooks", "handoff_context": "x"}),))]
    )
    models = ScriptedModels({"router": [router], "orchestrator": [orchestrator], "builder": [builder]})
    harness = make_harness(models)
    outlined = _state(harness.chat("onboarding"))
    building = _state(harness.chat("build it"))
    assert building["phase"] == "building"
    assert reached.wait(10)
    for frames in (
        harness.action("edit", **_rename(building["version"], 0, "Welcome")),
        harness.action("undo"),
        harness.action("redo"),
    ):
        check_stream(frames)
        assert types_of(frames) == REFUSED and _error(frames) == ErrorCode.BUILD_IN_PROGRESS
    release.set()
    entry = harness.services.cache.get(SID)
    assert entry is not None and entry.build is not None and entry.build.control.done.wait(10)
    built = entry.canvas.snapshot()
    assert built["phase"] == "refinement" and built["canvas"]["modules"][0]["tasks"]

    undone = _state(harness.action("undo"))  # the build and the turn that started it: one step
    assert undone["canvas"] == outlined["canvas"] and undone["phase"] == "outline"
    redone = _state(harness.action("redo"))
    assert redone["canvas"] == built["canvas"] and redone["phase"] == "refinement"
    models.assert_complete()
