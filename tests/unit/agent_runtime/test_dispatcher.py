"""The dispatcher in-process with strict scripted models: exact model calls, exact events."""

from __future__ import annotations

import json
from typing import Any

from agent_runtime.contract import ErrorCode
from agent_runtime.models.conversation import conversation_problems
from agent_runtime.models.scripted import ScriptedModel, Step
from tests.support.sse import check_stream, custom, text_of, tool_calls, types_of
from tests.unit.agent_runtime.conftest import SID, ScriptedModels

OUTLINE = {
    "title": "Client Onboarding",
    "description": "From contract to first value.",
    "modules": [{"title": "Kickoff"}, {"title": "Documents"}, {"title": "30-day review"}],
}


def _router(domain: str = "playbooks", **extra: Any) -> ScriptedModel:
    decision = {"domain": domain, "handoff_context": "client onboarding", **extra}
    return ScriptedModel([Step(tool_calls=(("RouterDecision", decision),))], name="router")


def _snapshot(frames: list[Any]) -> dict[str, Any]:
    """The last snapshot's canvas state (``usage`` grows with every turn, so it is left out)."""
    snapshot = [f.event["snapshot"] for f in frames if f.type == "STATE_SNAPSHOT"][-1]
    return {k: v for k, v in snapshot.items() if k != "usage"}


def test_first_turn_router_then_orchestrator(make_harness: Any) -> None:
    def sees_canvas_json(messages: Any, tools: Any, system_prompt: str | None) -> None:
        assert system_prompt and system_prompt.rstrip().endswith("```")
        assert '"phase":"empty"' in system_prompt and "client onboarding" in system_prompt
        assert "set_playbook_outline" in [t["name"] for t in tools]

    orchestrator = ScriptedModel(
        [
            Step(tool_calls=(("set_playbook_outline", OUTLINE),), check=sees_canvas_json),
            Step(text="Here's an outline.", tool_calls=(("suggest_replies", {"replies": ["Build it"]}),)),
            Step(),
        ],
        name="orchestrator",
    )
    models = ScriptedModels({"router": [_router()], "orchestrator": [orchestrator]})
    harness = make_harness(models)

    frames = harness.chat("Onboard new clients")
    check_stream(frames)
    assert types_of(frames) == [
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
    assert custom(frames, "control.handoff") == [
        {"target": "playbooks", "handoff_context": "client onboarding"}
    ]
    name, args = tool_calls(frames)[0]
    assert name == "set_playbook_outline" and args["modules"][0] == {"title": "Kickoff", "description": ""}
    assert _snapshot(frames)["phase"] == "outline"
    models.assert_complete()


def test_invalid_tool_call_goes_back_to_the_model_and_leaves_the_canvas(make_harness: Any) -> None:
    def sees_error(messages: Any, tools: Any, system_prompt: Any) -> None:
        result = messages[-1]["content"][0]["toolResult"]
        assert result["status"] == "error" and "NOT_FOUND" in result["content"][0]["text"]

    orchestrator = ScriptedModel(
        [
            Step(tool_calls=(("set_playbook_outline", OUTLINE),)),
            Step(text="Done."),
            Step(tool_calls=(("remove_module", {"module_index": 7}),)),
            Step(text="Sorry, there is no module 8.", check=sees_error),
        ]
    )
    harness = make_harness(ScriptedModels({"router": [_router()], "orchestrator": [orchestrator]}))
    before = _snapshot(harness.chat("Onboard new clients"))

    frames = harness.chat("remove module 8")
    check_stream(frames)
    assert tool_calls(frames) == []  # a refused call is never announced to the browser
    assert _snapshot(frames) == before
    assert frames[-1].event["outcome"] == {"type": "success"}
    orchestrator.assert_complete()


def test_general_domain_answers_without_handoff(make_harness: Any) -> None:
    models = ScriptedModels({"router": [_router("general", reply="I build playbooks. What process?")]})
    harness = make_harness(models)
    frames = harness.chat("hi")
    check_stream(frames)
    assert "CUSTOM:control.handoff" not in types_of(frames)
    assert text_of(frames) == "I build playbooks. What process?"
    models.assert_complete()


def test_router_failure_falls_back_safely(make_harness: Any) -> None:
    broken = ScriptedModel([Step(error=RuntimeError("boom"))])
    models = ScriptedModels({"router": [broken]})
    harness = make_harness(models)
    frames = harness.chat("what's up?")
    check_stream(frames)
    assert frames[-1].event["outcome"] == {"type": "success"}
    assert "playbook" in text_of(frames).lower()

    # a clearly playbook-related message goes to the orchestrator even when the router fails
    models.add(
        "router",
        ScriptedModel(
            [Step(tool_calls=(("RouterDecision", {"domain": "nonsense"}),)), Step(error=ValueError("x"))]
        ),
    )
    models.add("orchestrator", ScriptedModel([Step(text="Let's draft it.")]))
    frames = harness.chat("make an onboarding checklist")
    check_stream(frames)
    assert custom(frames, "control.handoff") == [{"target": "playbooks", "handoff_context": ""}]
    assert text_of(frames) == "Let's draft it."


def test_model_failure_is_a_model_error_and_the_next_turn_works(make_harness: Any) -> None:
    orchestrator = ScriptedModel([Step(error=RuntimeError("provider down")), Step(text="Back again.")])
    harness = make_harness(ScriptedModels({"router": [_router()], "orchestrator": [orchestrator]}))
    frames = harness.chat("Onboard new clients")
    check_stream(frames)
    assert frames[-1].type == "RUN_ERROR" and frames[-1].event["code"] == ErrorCode.MODEL_ERROR

    frames = harness.chat("try again")
    check_stream(frames)
    assert text_of(frames) == "Back again."
    messages = orchestrator.calls[-1]["messages"]
    # The failed turn is closed by appending (the store is append-only), so roles still alternate.
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert "could not answer" in messages[1]["content"][0]["text"]
    assert conversation_problems(messages) == []


def test_cycle_cap_is_budget_exceeded_with_canvas_intact(make_harness: Any) -> None:
    looping = ScriptedModel(
        [Step(tool_calls=(("set_playbook_outline", OUTLINE),))]
        + [Step(tool_calls=(("suggest_replies", {"replies": [f"r{i}"]}),)) for i in range(2)]
    )
    harness = make_harness(
        ScriptedModels({"router": [_router()], "orchestrator": [looping]}), MAX_AGENT_CYCLES="3"
    )
    frames = harness.chat("Onboard new clients")
    check_stream(frames)
    assert types_of(frames)[-2:] == ["STATE_SNAPSHOT", "RUN_ERROR"]
    assert frames[-1].event["code"] == ErrorCode.BUDGET_EXCEEDED
    assert len(_snapshot(frames)["canvas"]["modules"]) == 3
    looping.assert_complete()


def test_wall_clock_budget_is_budget_exceeded(make_harness: Any) -> None:
    hanging = ScriptedModel([Step(hang=True)])
    harness = make_harness(
        ScriptedModels({"router": [_router()], "orchestrator": [hanging]}), TURN_BUDGET_SECONDS="0.2"
    )
    frames = harness.chat("Onboard new clients")
    check_stream(frames)
    assert frames[-1].type == "RUN_ERROR" and frames[-1].event["code"] == ErrorCode.BUDGET_EXCEEDED
    assert harness.services.cache.get(SID).turn is None, "the session is free again"


def test_structural_edit_during_a_build_is_refused(make_harness: Any) -> None:
    import threading

    release = threading.Event()

    orchestrator = ScriptedModel(
        [
            Step(tool_calls=(("set_playbook_outline", OUTLINE),)),
            Step(),
            Step(tool_calls=(("build_modules", {"module_indices": [0]}),)),
            Step(),
            Step(tool_calls=(("remove_module", {"module_index": 1}),)),
            Step(text="It is building."),
        ]
    )
    builder = ScriptedModel(
        [
            Step(
                tool_calls=(
                    ("add_tasks", {"module_index": 0, "tasks": [{"title": "A", "steps": [{"title": "s"}]}]}),
                ),
                until=release,
            ),
            Step(),
        ]
    )
    models = ScriptedModels({"router": [_router()], "orchestrator": [orchestrator], "builder": [builder]})
    harness = make_harness(models)
    harness.chat("Onboard new clients")
    frames = harness.chat("build module 1")
    assert [name for name, _ in tool_calls(frames)] == ["build_modules"]
    assert json.loads(json.dumps(_snapshot(frames)))["phase"] == "building"

    frames = harness.chat("remove module 2")
    check_stream(frames)
    assert tool_calls(frames) == []
    assert len(_snapshot(frames)["canvas"]["modules"]) == 3
    release.set()

    watch = harness.action("watch")
    check_stream(watch)
    assert _snapshot(watch)["phase"] == "refinement"
    assert _snapshot(watch)["canvas"]["modules"][0]["status"] == "built"
    models.assert_complete()


def test_a_build_that_beats_its_turn_still_ends_on_the_watch(make_harness: Any, monkeypatch: Any) -> None:
    """DESIGN section 7: a turn that starts a build closes with phase ``building`` and the page's
    watch, resumed from the turn's closing snapshot, carries the build's end — even when every
    builder finished while the turn was still writing its reply (a one-module build, a fast
    model). Before, that build ended in frames older than the closing snapshot: the turn closed
    with ``refinement``, the page opened no watch, and its "Done!" message was never shown."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from agent_runtime.agents.builder import DONE_MESSAGE

    release = threading.Event()
    orchestrator = ScriptedModel(
        [
            Step(tool_calls=(("set_playbook_outline", OUTLINE),)),
            Step(),
            Step(tool_calls=(("build_modules", {"module_indices": [0]}),)),
            Step(text="Building it now.", until=release),  # the turn's reply waits for the test
        ]
    )
    builder = ScriptedModel(
        [Step(tool_calls=(("add_tasks", {"module_index": 0, "tasks": [{"title": "A"}]}),)), Step()]
    )
    models = ScriptedModels({"router": [_router()], "orchestrator": [orchestrator], "builder": [builder]})
    harness = make_harness(models)
    harness.chat("Onboard new clients")
    builds = harness.services.builds
    ended, at_the_end = threading.Event(), builds._finalize_after_turn

    def every_builder_done(job: Any) -> None:  # the gap: the build is over, its turn is not
        at_the_end(job)
        ended.set()

    monkeypatch.setattr(builds, "_finalize_after_turn", every_builder_done)
    with ThreadPoolExecutor(1) as pool:
        turn = pool.submit(harness.chat, "build module 1")
        assert ended.wait(10), "the one builder finished while its turn still ran"
        release.set()
        frames = turn.result(10)
    check_stream(frames)
    closing = [f for f in frames if f.type == "STATE_SNAPSHOT"][-1]
    assert closing.event["snapshot"]["phase"] == "building"
    assert closing.event["snapshot"]["canvas"]["modules"][0]["status"] == "built"

    watched = harness.action("watch", last_event_id=closing.id)  # what the page opens next
    check_stream(watched)
    assert _snapshot(watched)["phase"] == "refinement"
    assert DONE_MESSAGE in text_of(watched) and watched[-1].type == "RUN_FINISHED"
    models.assert_complete()


def test_second_chat_while_a_turn_runs_is_busy(make_harness: Any) -> None:
    import threading

    reached, release = threading.Event(), threading.Event()

    slow = ScriptedModel([Step(text="ok", check=lambda *_: reached.set(), until=release)])
    harness = make_harness(ScriptedModels({"router": [_router()], "orchestrator": [slow]}))
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(harness.chat("Onboard new clients")))
    thread.start()
    try:
        assert reached.wait(10), "the first turn never reached its model"
        busy = harness.chat("build it")
        assert types_of(busy) == ["RUN_ERROR"] and busy[0].event["code"] == ErrorCode.SESSION_BUSY
    finally:
        release.set()
        thread.join(10)
    check_stream(results[0])
    assert results[0][-1].event["outcome"] == {"type": "success"}
