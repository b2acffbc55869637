"""A Strands hook provider that keeps the correlation ids and per-run numbers on agent spans.

``Agent(trace_attributes=...)`` already reaches every span Strands makes for the agent (the agent
span, each event-loop cycle span, each model-invoke span, each tool span — strands 1.62
``telemetry/tracer.py``). What it cannot do on its own:

* a cached agent lives across turns, but the run id changes every turn — the hook refreshes
  ``run_id`` from :func:`agent_runtime.telemetry.log_context` before each invocation;
* the agent span's ``gen_ai.usage.*`` are the agent's *accumulated* tokens across all its turns
  (unless ``OTEL_SEMCONV_STABILITY_OPT_IN`` has ``gen_ai_use_latest_invocation_tokens``) — the hook
  adds this run's own tokens, model-call count and latency as ``playbook.run.*`` — for the whole
  agent span, including the rounds a hook resumes (``AfterInvocationEvent.resume``: the module
  self-check's repairs run inside the same agent span).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace as trace_api
from strands.hooks import (
    AfterInvocationEvent,
    AgentInitializedEvent,
    BeforeInvocationEvent,
    HookProvider,
    HookRegistry,
)

from . import attributes as attrs
from .logs import current_run_id

logger = logging.getLogger(__name__)


class AgentObservabilityHook(HookProvider):
    """Put ``session.id``, ``user.id``, ``vendor_id``, ``agent_type``, ``run_id`` on every span.

    Register it with ``Agent(hooks=[AgentObservabilityHook(agent_trace_attributes(...))])``. It
    works with or without the same mapping in ``trace_attributes``.
    """

    def __init__(self, attributes: Mapping[str, str | int]) -> None:
        """Create the hook.

        Args:
            attributes: The agent's correlation attributes, usually from
                :func:`agent_runtime.telemetry.agent_trace_attributes`.
        """
        self.attributes: dict[str, str] = {str(k): str(v) for k, v in attributes.items()}
        self._started: dict[int, tuple[Any, float, int, int, int, int]] = {}

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        """Register the initialise, before- and after-invocation callbacks."""
        registry.add_callback(AgentInitializedEvent, self._on_initialized)
        registry.add_callback(BeforeInvocationEvent, self._before_invocation)
        registry.add_callback(AfterInvocationEvent, self._after_invocation)

    def _on_initialized(self, event: AgentInitializedEvent) -> None:
        event.agent.trace_attributes.update(self.attributes)

    def _before_invocation(self, event: BeforeInvocationEvent) -> None:
        agent = event.agent
        agent.trace_attributes.update(self.attributes)
        run_id = current_run_id()
        if run_id:
            agent.trace_attributes[attrs.RUN_ID] = run_id
        span = _recording(getattr(agent, "trace_span", None))
        if span is not None:
            # The agent span started before this event, so it holds the attributes of the previous run.
            span.set_attributes(dict(agent.trace_attributes))
        started = self._started.get(id(agent))
        if started is not None and span is not None and started[0] is span:
            return  # a hook resumed the agent: the same run (agent span) goes on
        usage = agent.event_loop_metrics.accumulated_usage
        self._started[id(agent)] = (
            span,
            time.perf_counter(),
            int(usage.get("inputTokens", 0)),
            int(usage.get("outputTokens", 0)),
            int(usage.get("totalTokens", 0)),
            _model_calls(agent),
        )

    def _after_invocation(self, event: AfterInvocationEvent) -> None:
        agent = event.agent
        started = self._started.get(id(agent))
        if started is None:
            return
        _, t0, in0, out0, total0, calls0 = started  # kept: a resumed round adds to the same run
        usage = agent.event_loop_metrics.accumulated_usage
        run_numbers = {
            attrs.RUN_LATENCY_MS: round((time.perf_counter() - t0) * 1000.0, 1),
            attrs.RUN_INPUT_TOKENS: int(usage.get("inputTokens", 0)) - in0,
            attrs.RUN_OUTPUT_TOKENS: int(usage.get("outputTokens", 0)) - out0,
            attrs.RUN_TOTAL_TOKENS: int(usage.get("totalTokens", 0)) - total0,
            attrs.RUN_MODEL_CALLS: _model_calls(agent) - calls0,
        }
        span = _recording(getattr(agent, "trace_span", None))
        if span is not None:
            span.set_attributes(run_numbers)
        logger.info(
            "agent_type=<%s>, latency_ms=<%s>, total_tokens=<%s> | agent invocation finished",
            self.attributes.get(attrs.AGENT_TYPE),
            run_numbers[attrs.RUN_LATENCY_MS],
            run_numbers[attrs.RUN_TOTAL_TOKENS],
        )


def _recording(span: Any) -> trace_api.Span | None:
    if isinstance(span, trace_api.Span) and span.is_recording():
        return span
    return None


def _model_calls(agent: Any) -> int:
    metrics = agent.event_loop_metrics
    return sum(len(inv.cycles) for inv in getattr(metrics, "agent_invocations", []))
