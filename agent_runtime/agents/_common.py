"""Pieces every agent factory shares: the stop-check hook and the common ``Agent`` arguments."""

from __future__ import annotations

import threading
from typing import Any

from strands.hooks import BeforeModelCallEvent, BeforeToolCallEvent, HookProvider, HookRegistry

from agent_runtime.telemetry import AgentObservabilityHook, agent_trace_attributes

__all__ = ["StopCheckHook", "agent_kwargs", "STOPPED_MESSAGE"]

STOPPED_MESSAGE = "stopped by the person"


class StopCheckHook(HookProvider):
    """Checks a stop flag between model and tool calls and cancels the call when it is set.

    Strands also observes the flag (passed as ``cancel_signal``) inside model streaming; this hook
    makes sure no new model call or tool call starts once a stop has been requested.
    """

    def __init__(self, flag: threading.Event) -> None:
        """Watch ``flag``."""
        self._flag = flag

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        """Register the before-model and before-tool checks."""
        registry.add_callback(BeforeModelCallEvent, self._before_model)
        registry.add_callback(BeforeToolCallEvent, self._before_tool)

    def _before_model(self, event: BeforeModelCallEvent) -> None:
        if self._flag.is_set():
            event.cancel = STOPPED_MESSAGE

    def _before_tool(self, event: BeforeToolCallEvent) -> None:
        if self._flag.is_set():
            event.cancel_tool = STOPPED_MESSAGE


def agent_kwargs(
    *,
    name: str,
    agent_type: str,
    session_id: str,
    user_id: int,
    vendor_id: int,
    run_id: str | None = None,
    extra: dict[str, str | int] | None = None,
    hooks: list[Any] | None = None,
) -> dict[str, Any]:
    """The ``Agent(...)`` arguments every agent gets: identity, trace attributes, no printing."""
    attributes = agent_trace_attributes(
        session_id=session_id,
        user_id=user_id,
        vendor_id=vendor_id,
        agent_type=agent_type,
        run_id=run_id,
        extra=extra,
    )
    return {
        "name": name,
        "agent_id": name,
        "callback_handler": None,
        "trace_attributes": attributes,
        "hooks": [AgentObservabilityHook(attributes), *(hooks or [])],
    }
