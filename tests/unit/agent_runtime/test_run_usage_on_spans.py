"""The usage numbers on an agent run's root span: whole runs, and the session total under concurrency.

Real Strands agents with the real hooks (:class:`UsageHook`, :class:`AgentObservabilityHook`) and a
real session ledger; only the model is scripted. The concurrency test pauses one run's model call
on an :class:`threading.Event` while another run finishes — the gap the MLflow traces test
(``tests/integration/test_mlflow_traces.py``) depends on: the session total a run records is the
ledger's total after that run's own last response, so the run that records last holds the total.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from strands import Agent
from strands.hooks import AfterInvocationEvent, HookProvider, HookRegistry
from strands.models.model import Model

from agent_runtime import telemetry
from agent_runtime.telemetry import attributes as attrs
from agent_runtime.usage import PriceTable, RunMeter, UsageHook, UsageLedger
from agent_runtime.usage.hook import RUN_COST_USD, SESSION_TOTAL_TOKENS
from agent_runtime.usage.prices import ModelPrice

IDS = {"session_id": "5d3f1f0e-8a4b-4c1d-9e2f-3a4b5c6d7e8f", "user_id": 7, "vendor_id": 3}
PRICES = PriceTable({"scripted": ModelPrice(input=1.0, output=5.0)})


@pytest.fixture(autouse=True)
def recording_spans() -> Iterator[None]:
    """The hooks only write to recording spans: make sure the global provider is the SDK's."""
    if not isinstance(trace_api.get_tracer_provider(), TracerProvider):
        trace_api.set_tracer_provider(TracerProvider())
    yield


class Control:
    """A run control (:class:`Cancellable`) that only records a cancellation (no budget is set here)."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def cancel(self, reason: str) -> bool:
        first, self.reason = self.reason is None, self.reason or reason
        return first


class TextModel(Model):
    """Answers every call with text; ``tokens`` input and 5 output tokens. Optionally waits at ``gate``."""

    def __init__(self, tokens: int, *, gate: threading.Event | None = None) -> None:
        self.tokens = tokens
        self.gate = gate
        self.calling = threading.Event()
        self.config: dict[str, Any] = {"model_id": "scripted"}

    def update_config(self, **model_config: Any) -> None:
        self.config.update(model_config)

    def get_config(self) -> Any:
        return self.config

    def structured_output(self, output_model: Any, prompt: Any, system_prompt: Any = None, **kw: Any) -> Any:
        raise AssertionError("no structured output here")

    async def stream(
        self, messages: Any, tool_specs: Any = None, system_prompt: Any = None, **kwargs: Any
    ) -> AsyncIterator[Any]:  # type: ignore[override]
        self.calling.set()
        if self.gate is not None:
            assert self.gate.wait(timeout=30), "the test never opened the gate"
        yield {"messageStart": {"role": "assistant"}}
        yield {"contentBlockStart": {"start": {}}}
        yield {"contentBlockDelta": {"delta": {"text": "done"}}}
        yield {"contentBlockStop": {}}
        yield {"messageStop": {"stopReason": "end_turn"}}
        yield {
            "metadata": {
                "usage": {"inputTokens": self.tokens, "outputTokens": 5, "totalTokens": self.tokens + 5},
                "metrics": {"latencyMs": 1},
            }
        }


class ResumeOnce(HookProvider):
    """Like the module self-check asking for one repair: resumes the agent once after its first round."""

    def __init__(self) -> None:
        self.resumed = False

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        registry.add_callback(AfterInvocationEvent, self._after)

    def _after(self, event: AfterInvocationEvent) -> None:
        if not self.resumed:
            self.resumed = True
            event.resume = "fix the findings"


def _agent(model: TextModel, ledger: UsageLedger, *extra_hooks: HookProvider, name: str) -> Agent:
    attributes = telemetry.agent_trace_attributes(agent_type="builder", **IDS)  # type: ignore[arg-type]
    meter = RunMeter(ledger, "build", Control())
    return Agent(
        model=model,
        name=name,
        callback_handler=None,
        trace_attributes=attributes,
        hooks=[telemetry.AgentObservabilityHook(attributes), UsageHook(PRICES, meter), *extra_hooks],
    )


def _root(agent: Agent) -> dict[str, Any]:
    span = agent.trace_span
    assert isinstance(span, ReadableSpan) and span.end_time is not None
    return dict(span.attributes or {})


def test_a_resumed_round_counts_in_the_same_runs_numbers() -> None:
    ledger = UsageLedger()
    agent = _agent(TextModel(10), ledger, ResumeOnce(), name="module_builder_0")
    agent("build module 1")

    root = _root(agent)
    # Two rounds in one agent span (the build and its repair): 2 calls of 15 tokens.
    assert root[attrs.RUN_MODEL_CALLS] == 2
    assert root[attrs.RUN_TOTAL_TOKENS] == 30 == ledger.total.total_tokens
    assert root[RUN_COST_USD] == pytest.approx(2 * (10 * 1.0 + 5 * 5.0) / 1e6)
    assert root[SESSION_TOTAL_TOKENS] == 30


def test_a_long_lived_agents_next_run_starts_its_numbers_afresh() -> None:
    ledger = UsageLedger()
    agent = _agent(TextModel(10), ledger, name="playbook_orchestrator")
    agent("one")
    agent("two")

    root = _root(agent)
    assert root[attrs.RUN_MODEL_CALLS] == 1
    assert root[attrs.RUN_TOTAL_TOKENS] == 15
    assert root[RUN_COST_USD] == pytest.approx((10 * 1.0 + 5 * 5.0) / 1e6)
    assert root[SESSION_TOTAL_TOKENS] == 30


def test_the_run_that_records_last_holds_the_sessions_total_when_another_finishes_mid_call() -> None:
    ledger = UsageLedger()
    gate = threading.Event()
    slow_model = TextModel(100, gate=gate)
    slow = _agent(slow_model, ledger, name="module_builder_0")
    fast = _agent(TextModel(20), ledger, name="module_builder_1")

    errors: list[BaseException] = []

    def run_slow() -> None:
        try:
            slow("build module 1")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    worker = threading.Thread(target=run_slow)
    worker.start()
    try:
        assert slow_model.calling.wait(timeout=30)
        # The gap: the slow run is inside its model call (nothing added yet) while the fast run ends.
        fast("build module 2")
        assert _root(fast)[SESSION_TOTAL_TOKENS] == 25  # only what was there when it ended
    finally:
        gate.set()
        worker.join(timeout=30)
    assert not errors and not worker.is_alive()

    slow_root, fast_root = _root(slow), _root(fast)
    assert slow_root[attrs.RUN_TOTAL_TOKENS] == 105 and fast_root[attrs.RUN_TOTAL_TOKENS] == 25
    # The latest record (what `python -m agent_runtime.traces` shows as the session's usage) is the
    # ledger's total, and the sum of the runs' own tokens.
    latest = max(slow_root[SESSION_TOTAL_TOKENS], fast_root[SESSION_TOTAL_TOKENS])
    assert latest == slow_root[SESSION_TOTAL_TOKENS] == ledger.total.total_tokens == 130
