"""The Strands hook that meters every model response of an agent and puts usage on its spans.

After each model call it reads the response's ``usage`` (Bedrock's usage metadata, or the offline
model's estimate) from the message metadata Strands attaches, prices it by the agent's model id
and adds it to the bound :class:`~agent_runtime.usage.meter.RunMeter` (which cancels the run when
a token budget is passed). After each invocation it sets span attributes ops can sum per
session, user and vendor in MLflow or CloudWatch (for the whole agent span, every resumed
round included): ``playbook.run.cost_usd``,
``playbook.run.cache_read_tokens``, ``playbook.run.cache_write_tokens`` and the session's
running ``playbook.session.total_tokens`` / ``playbook.session.cost_usd``.
"""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry import trace as trace_api
from strands.hooks import (
    AfterInvocationEvent,
    AfterModelCallEvent,
    BeforeInvocationEvent,
    HookProvider,
    HookRegistry,
)

from agent_runtime.usage.meter import RunMeter, Usage
from agent_runtime.usage.prices import PriceTable

__all__ = ["UsageHook", "RUN_COST_USD", "SESSION_TOTAL_TOKENS", "SESSION_COST_USD"]

logger = logging.getLogger(__name__)

RUN_COST_USD = "playbook.run.cost_usd"
RUN_CACHE_READ_TOKENS = "playbook.run.cache_read_tokens"
RUN_CACHE_WRITE_TOKENS = "playbook.run.cache_write_tokens"
SESSION_TOTAL_TOKENS = "playbook.session.total_tokens"
SESSION_COST_USD = "playbook.session.cost_usd"


class UsageHook(HookProvider):
    """Meters one agent; a long-lived agent re-binds it to each run with :meth:`bind`."""

    def __init__(self, prices: PriceTable, meter: RunMeter | None = None) -> None:
        """Price with ``prices``; count into ``meter`` (if bound)."""
        self._prices = prices
        self._meter = meter
        self._invocation = Usage()
        self._span: object = None

    def bind(self, meter: RunMeter | None) -> None:
        """Count into another run's meter (``None``: count nothing)."""
        self._meter = meter

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        """Register the model-call and invocation callbacks."""
        registry.add_callback(BeforeInvocationEvent, self._before_invocation)
        registry.add_callback(AfterModelCallEvent, self._after_model)
        registry.add_callback(AfterInvocationEvent, self._after_invocation)

    def _before_invocation(self, event: BeforeInvocationEvent) -> None:
        # A hook that resumes the agent (the module self-check's repair round) starts another
        # invocation inside the same agent span: that round's usage belongs to the same run.
        span = getattr(event.agent, "trace_span", None)
        recording = isinstance(span, trace_api.Span) and span.is_recording()
        if not recording or span is not self._span:
            self._invocation = Usage()
        self._span = span

    def _after_model(self, event: AfterModelCallEvent) -> None:
        response = event.stop_response
        if response is None:
            return
        metadata: Any = response.message.get("metadata") or {}
        raw = metadata.get("usage") if isinstance(metadata, dict) else None
        usage = Usage.from_metadata(dict(raw) if isinstance(raw, dict) else None)
        model_id = str((event.agent.model.get_config() or {}).get("model_id", ""))
        usage.cost_usd = self._prices.cost(model_id, usage)
        self._invocation.add(usage)
        meter = self._meter
        if meter is not None:
            breach = meter.add(usage)
            if breach is not None:
                logger.info(
                    "budget=<%s>, used=<%d>, allowed=<%d> | token budget exceeded; stopping the run",
                    breach.budget,
                    breach.used,
                    breach.allowed,
                )

    def _after_invocation(self, event: AfterInvocationEvent) -> None:
        span = getattr(event.agent, "trace_span", None)
        if not isinstance(span, trace_api.Span) or not span.is_recording():
            return
        attributes: dict[str, Any] = {
            RUN_COST_USD: round(self._invocation.cost_usd, 6),
            RUN_CACHE_READ_TOKENS: self._invocation.cache_read_tokens,
            RUN_CACHE_WRITE_TOKENS: self._invocation.cache_write_tokens,
        }
        if self._meter is not None:
            total = self._meter.ledger.total
            attributes[SESSION_TOTAL_TOKENS] = total.total_tokens
            attributes[SESSION_COST_USD] = round(total.cost_usd, 6)
        span.set_attributes(attributes)
