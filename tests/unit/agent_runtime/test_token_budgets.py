"""Token usage and cost: metered per model response, summed per turn, build and session, with budgets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agent_runtime.budget import BUDGET_REASON
from agent_runtime.contract import UsageSummary
from agent_runtime.models.scripted import ScriptedModel, Step
from agent_runtime.persistence import apply_portal_state
from agent_runtime.session.cache import SessionEntry
from agent_runtime.session.writer import portal_state
from agent_runtime.usage import DEFAULT_PRICE_TABLE, Usage, load_prices
from tests.support.sse import Frame, check_stream, custom, tool_calls
from tests.unit.agent_runtime.conftest import SID, ScriptedModels

OUTLINE = {
    "title": "Client Onboarding",
    "description": "From contract to first value.",
    "modules": [{"title": "Kickoff"}, {"title": "Documents"}],
}
TASKS = [{"title": "Hold the kickoff", "steps": [{"title": "Invite the team"}]}]


def _router() -> ScriptedModel:
    decision = {"domain": "playbooks", "handoff_context": "client onboarding"}
    return ScriptedModel([Step(tool_calls=(("RouterDecision", decision),))], name="router")


def _snapshot(frames: list[Frame]) -> dict[str, Any]:
    return [f.event["snapshot"] for f in frames if f.type == "STATE_SNAPSHOT"][-1]


def test_every_closing_snapshot_carries_the_sessions_usage(make_harness: Any) -> None:
    orchestrator = ScriptedModel([Step(tool_calls=(("set_playbook_outline", OUTLINE),)), Step(text="Here.")])
    harness = make_harness(ScriptedModels({"router": [_router()], "orchestrator": [orchestrator]}))
    frames = harness.chat("Onboard new clients")
    check_stream(frames)
    usage = UsageSummary.model_validate(_snapshot(frames)["usage"])  # the contract's shape
    expected = sum(int(m["metadata"]["usage"]["outputTokens"]) for m in _assistant_messages(harness))
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.output_tokens > expected > 0  # the orchestrator's responses, plus the router's
    assert usage.model_dump() == harness.services.cache.get(SID).usage.summary()
    assert usage.cost_usd == 0.0  # scripted models have no price


def _assistant_messages(harness: Any) -> list[Any]:
    agent, _ = harness.services.cache.get(SID).agents["playbook_orchestrator"]
    return [m for m in agent.messages if m["role"] == "assistant"]


def test_turn_token_budget_ends_the_turn_with_which_budget_and_the_canvas_intact(make_harness: Any) -> None:
    # One reply of ~1,000 output tokens with an outline call: past the budget before the call runs.
    orchestrator = ScriptedModel([Step(text="word " * 800, tool_calls=(("set_playbook_outline", OUTLINE),))])
    harness = make_harness(
        ScriptedModels({"router": [_router()], "orchestrator": [orchestrator]}), TURN_TOKEN_BUDGET="500"
    )
    frames = harness.chat("Onboard new clients")
    check_stream(frames)
    error = frames[-1].event
    used = _snapshot(frames)["usage"]["total_tokens"]
    assert frames[-1].type == "RUN_ERROR" and error["code"] == "BUDGET_EXCEEDED"
    assert error["message"] == (
        f"the turn token budget is used up ({used:,} of 500 tokens); the canvas keeps every completed change"
    )
    assert tool_calls(frames) == [] and _snapshot(frames)["canvas"]["modules"] == []
    assert harness.services.cache.get(SID).turn is None


def test_session_token_budget_counts_every_turn_and_refuses_the_next(make_harness: Any) -> None:
    models = ScriptedModels({"router": [_router()]})
    harness = make_harness(models, SESSION_TOKEN_BUDGET="5")
    first = harness.chat("Onboard new clients")
    check_stream(first)
    assert first[-1].event["code"] == "BUDGET_EXCEEDED"
    assert first[-1].event["message"].startswith("the session token budget is used up (")
    # The next turn starts with the budget spent: refused before any model call (none is scripted).
    second = harness.chat("Onboard new clients")
    check_stream(second)
    assert second[-1].event["code"] == "BUDGET_EXCEEDED"
    assert "session token budget" in second[-1].event["message"]
    models.assert_complete()


def test_build_token_budget_stops_the_builders_and_keeps_what_was_built(make_harness: Any) -> None:
    orchestrator = ScriptedModel(
        [
            Step(tool_calls=(("set_playbook_outline", OUTLINE),)),
            Step(),
            Step(tool_calls=(("build_modules", {}),)),
            Step(text="Building."),
        ]
    )
    first = ScriptedModel(
        [Step(tool_calls=(("add_tasks", {"module_index": 0, "tasks": TASKS}),)), Step(text="Done.")]
    )
    # The second builder's first reply alone is ~5,000 tokens: past the build's budget.
    second = ScriptedModel(
        [Step(text="word " * 4000, tool_calls=(("add_tasks", {"module_index": 1, "tasks": TASKS}),))]
    )
    models = ScriptedModels(
        {"router": [_router()], "orchestrator": [orchestrator], "builder": [first, second]}
    )
    # No session store: a watch opened as the build ends may otherwise find the stored session a
    # revision ahead for a moment and reload it (a new orchestrator asks for a model none scripted).
    harness = make_harness(models, BUILDER_WORKERS="1", BUILD_TOKEN_BUDGET="2000", SESSION_STORE="none")
    harness.chat("Onboard new clients")
    harness.chat("build it")
    watch = harness.action("watch", last_event_id=0)
    check_stream(watch)

    assert watch[-1].type == "RUN_ERROR" and watch[-1].event["code"] == "BUDGET_EXCEEDED"
    assert watch[-1].event["message"].startswith("the build token budget is used up (")
    assert watch[-1].event["message"].endswith(" of 2,000 tokens); the canvas keeps every completed change")
    modules = _snapshot(watch)["canvas"]["modules"]
    assert [m["status"] for m in modules] == ["built", "failed"]
    assert modules[0]["tasks"][0]["title"] == "Hold the kickoff"  # intact
    assert modules[1]["reason"] == "stopped: the token budget is used up" and modules[1]["tasks"] == []
    assert [n for n, _ in tool_calls(watch)] == ["add_tasks"]  # the second builder's call never ran
    assert custom(watch, "build.progress")[-1] == {"built": 1, "failed": 1, "total": 2}
    assert _snapshot(watch)["usage"]["total_tokens"] > 2000
    entry = harness.services.cache.get(SID)
    assert entry.build.control.done.wait(5)  # set just after the end marker the watch stopped at
    assert entry.build.control.reason == BUDGET_REASON
    models.assert_complete()


def test_usage_is_part_of_the_durable_session() -> None:
    from agent_runtime.canvas import Canvas
    from agent_runtime.session.ephemeral import EphemeralState

    entry = SessionEntry(SID, 1, 2, "copilot", Canvas(), EphemeralState(16))
    entry.usage.add(Usage(input_tokens=10, output_tokens=5, cache_read_tokens=3, cost_usd=0.25))
    state = portal_state(entry)
    fresh = SessionEntry(SID, 1, 2, "copilot", Canvas(), EphemeralState(16))
    apply_portal_state(fresh, state)
    assert fresh.usage.summary() == {
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 18,
        "cost_usd": 0.25,
    }


# ------------------------------------------------------------------ prices


def test_the_price_table_is_valid_and_covers_the_default_models() -> None:
    from agent_runtime.config import DEFAULT_ROUTER_MODEL, DEFAULT_SONNET_MODEL

    raw = yaml.safe_load(DEFAULT_PRICE_TABLE.read_text(encoding="utf-8"))
    table = load_prices(DEFAULT_PRICE_TABLE)
    assert set(raw) == {"models"} and raw["models"]
    for model_id in (DEFAULT_ROUTER_MODEL, DEFAULT_SONNET_MODEL, "offline-builder"):
        assert table.price(model_id) is not None, model_id


def test_cost_counts_input_output_and_cache_tokens_by_model_id() -> None:
    table = load_prices(DEFAULT_PRICE_TABLE)
    usage = Usage.from_metadata(
        {
            "inputTokens": 1_000_000,
            "outputTokens": 100_000,
            "cacheReadInputTokens": 1_000_000,
            "cacheWriteInputTokens": 0,
            "totalTokens": 2_100_000,
        }
    )
    # Sonnet 4.5: $3 in, $15 out, $0.30 cache read per million (inference-profile prefix ignored).
    assert table.cost("us.anthropic.claude-sonnet-4-5-20250929-v1:0", usage) == pytest.approx(3.0 + 1.5 + 0.3)
    assert usage.total_tokens == 2_100_000
    assert table.cost("some-unknown-model", usage) == 0.0


def test_a_bad_price_table_is_a_one_line_config_error(tmp_path: Any) -> None:
    from agent_runtime.errors import ConfigError

    path = tmp_path / "prices.yaml"
    path.write_text("models:\n  m: {input: -1, output: 2}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"PRICE_TABLE .*prices.yaml: models.m.input"):
        load_prices(path)


# ------------------------------------------------------------------ traces


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    provider = trace_api.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace_api.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


def test_usage_and_cost_are_on_the_agent_spans(make_harness: Any, spans: InMemorySpanExporter) -> None:
    orchestrator = ScriptedModel([Step(tool_calls=(("set_playbook_outline", OUTLINE),)), Step(text="Here.")])
    harness = make_harness(ScriptedModels({"router": [_router()], "orchestrator": [orchestrator]}))
    frames = harness.chat("Onboard new clients")
    usage = _snapshot(frames)["usage"]
    agent_spans = [
        s
        for s in spans.get_finished_spans()
        if (s.attributes or {}).get("agent_type") == "orchestrator"
        and "playbook.session.total_tokens" in (s.attributes or {})
    ]
    assert agent_spans, [s.name for s in spans.get_finished_spans()]
    attributes = dict(agent_spans[-1].attributes or {})
    assert attributes["playbook.session.total_tokens"] == usage["total_tokens"]
    assert attributes["playbook.session.cost_usd"] == 0.0 and attributes["playbook.run.cost_usd"] == 0.0
    assert attributes["session.id"] == SID
