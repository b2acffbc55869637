"""The offline model adapter drives a real Strands agent loop from the offline planner."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from strands import Agent

from agent_runtime.agents.orchestrator import build_system_prompt
from agent_runtime.canvas import Canvas
from agent_runtime.messages import parse_context, render_context, split_text
from agent_runtime.models.offline_model import OfflineModel
from agent_runtime.models.scripted import ScriptedModel, Step, UnexpectedModelCall
from agent_runtime.tools.canvas_tool import CanvasTool

ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"


class Recorder:
    """An applier that applies to a canvas and records the calls."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def apply(self, tool_use_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
        result = self.canvas.apply(name, args)
        self.calls.append((name, args))
        return result


def _orchestrator(canvas: Canvas, recorder: Recorder, latency_ms: int = 0) -> Agent:
    names = [
        "set_playbook_outline",
        "update_playbook",
        "add_module",
        "update_module",
        "remove_module",
        "move_module",
        "build_modules",
        "suggest_replies",
    ]
    return Agent(
        model=OfflineModel("orchestrator", latency_ms=latency_ms),
        tools=[CanvasTool(n, recorder) for n in names],
        system_prompt=build_system_prompt(canvas, None, instructions="You edit playbooks."),
        callback_handler=None,
    )


def _run(agent: Agent, prompt: str) -> tuple[list[str], str]:
    async def go() -> tuple[list[str], str]:
        texts: list[str] = []
        stop = ""
        async for event in agent.stream_async(prompt):
            if isinstance(event.get("data"), str):
                texts.append(event["data"])
            if "result" in event:
                stop = str(event["result"].stop_reason)
        return texts, stop

    texts, stop = asyncio.run(go())
    return texts, stop


def test_first_turn_applies_an_outline_streams_text_and_ends_cleanly() -> None:
    canvas = Canvas()
    recorder = Recorder(canvas)
    agent = _orchestrator(canvas, recorder)
    texts, stop = _run(agent, ONBOARDING)
    assert [name for name, _ in recorder.calls] == ["set_playbook_outline", "suggest_replies"]
    assert stop == "end_turn"
    assert len(texts) > 3 and all(texts), "text arrives in several small non-empty deltas"
    assert canvas.snapshot()["phase"] == "outline" and canvas.module_count >= 6
    # the last reply has no text: no empty text block in the conversation
    assert all(block.get("text", "x") for m in agent.messages for block in m["content"])


def test_edits_follow_the_canvas_in_the_system_prompt() -> None:
    canvas = Canvas()
    recorder = Recorder(canvas)
    agent = _orchestrator(canvas, recorder)
    _run(agent, ONBOARDING)
    count = canvas.module_count
    agent.system_prompt = build_system_prompt(canvas, None, instructions="You edit playbooks.")
    _run(agent, "remove the last module")
    assert recorder.calls[-1][0] in ("remove_module", "suggest_replies")
    assert canvas.module_count == count - 1


def test_a_failed_tool_call_gets_a_short_apology_and_ends_the_turn() -> None:
    class Refusing(Recorder):
        def apply(self, tool_use_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
            from agent_runtime.canvas import CanvasError

            raise CanvasError("LIMIT", "no more room")

    canvas = Canvas()
    agent = _orchestrator(canvas, Refusing(canvas))
    texts, stop = _run(agent, ONBOARDING)
    assert stop == "end_turn"
    assert "".join(texts).startswith("Sorry") and "no more room" in "".join(texts)
    assert canvas.module_count == 0


def test_latency_is_honoured_and_cancellable() -> None:
    model = OfflineModel("orchestrator", latency_ms=120_000)
    cancel = threading.Event()

    async def go() -> list[Any]:
        events = []
        async for event in model.stream(
            [{"role": "user", "content": [{"text": "hi"}]}], cancel_signal=cancel
        ):
            events.append(event)
        return events

    threading.Timer(0.05, cancel.set).start()
    started = time.monotonic()
    assert asyncio.run(go()) == []
    assert time.monotonic() - started < 30  # cancelled, not the two minutes of latency


def test_router_answers_the_structured_output_tool() -> None:
    from agent_runtime.agents.router import RouterDecision

    agent = Agent(model=OfflineModel("router"), callback_handler=None)
    result = asyncio.run(agent.invoke_async(ONBOARDING, structured_output_model=RouterDecision))
    assert isinstance(result.structured_output, RouterDecision)
    assert result.structured_output.domain == "playbooks"


def test_context_block_round_trip_and_text_splitting() -> None:
    prompt = 'Intro\n```json\n{"old":1}\n```\nmore\n' + render_context({"phase": "empty", "x": [1, 2]})
    assert parse_context(prompt) == {"phase": "empty", "x": [1, 2]}
    assert parse_context("no block") == {}
    assert "".join(split_text("a b c d e f g h", 3)) == "a b c d e f g h"


def test_scripted_model_is_strict() -> None:
    model = ScriptedModel([Step(text="one")])
    agent = Agent(model=model, callback_handler=None)
    asyncio.run(agent.invoke_async("hi"))
    model.assert_complete()
    try:
        asyncio.run(agent.invoke_async("again"))
    except UnexpectedModelCall:
        pass
    else:
        raise AssertionError("an unscripted call must fail")
    leftover = ScriptedModel([Step(text="a"), Step(text="b")])
    asyncio.run(Agent(model=leftover, callback_handler=None).invoke_async("hi"))
    try:
        leftover.assert_complete()
    except AssertionError as exc:
        assert "never used" in str(exc)
    else:
        raise AssertionError("unused steps must fail assert_complete")
