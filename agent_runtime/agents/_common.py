"""Pieces every agent factory shares: the stop-check hook and the common ``Agent`` arguments."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from strands.hooks import BeforeModelCallEvent, BeforeToolCallEvent, HookProvider, HookRegistry

from agent_runtime.models.context import make_conversation_manager, make_retry
from agent_runtime.telemetry import AgentObservabilityHook, agent_trace_attributes

if TYPE_CHECKING:
    from agent_runtime.agents.registry import AgentSpec

__all__ = ["StopCheckHook", "agent_kwargs", "with_context_limit", "STOPPED_MESSAGE"]

STOPPED_MESSAGE = "stopped by the person"


class StopCheckHook(HookProvider):
    """Checks a stop flag between model and tool calls and cancels the call when it is set.

    Strands also observes the flag (passed as ``cancel_signal``) inside model streaming; this hook
    makes sure no new model call or tool call starts once a stop has been requested. With a
    ``probe`` it also asks whether a stop arrived elsewhere (the stored stop flag, see
    :class:`~agent_runtime.session.remote_stop.RemoteStop`; the probe cancels the run itself).
    A long-lived agent (the orchestrator) re-binds the hook to each turn with :meth:`bind`.
    """

    def __init__(self, flag: threading.Event | None = None, probe: Callable[[], bool] | None = None) -> None:
        """Watch ``flag`` (and ``probe``, if given)."""
        self._flag = flag
        self._probe = probe

    def bind(self, flag: threading.Event | None, probe: Callable[[], bool] | None = None) -> None:
        """Watch another run's flag and probe."""
        self._flag, self._probe = flag, probe

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        """Register the before-model and before-tool checks."""
        registry.add_callback(BeforeModelCallEvent, self._before_model)
        registry.add_callback(BeforeToolCallEvent, self._before_tool)

    def _stopped(self) -> bool:
        flag, probe = self._flag, self._probe
        if flag is not None and flag.is_set():
            return True
        return probe is not None and probe()

    def _before_model(self, event: BeforeModelCallEvent) -> None:
        if self._stopped():
            event.cancel = STOPPED_MESSAGE

    def _before_tool(self, event: BeforeToolCallEvent) -> None:
        if self._stopped():
            event.cancel_tool = STOPPED_MESSAGE


def with_context_limit(model: Any, spec: AgentSpec) -> Any:
    """``model``, told the agent's token limit (``conversation.context_tokens`` in ``agents.yaml``)."""
    model.update_config(context_window_limit=spec.conversation.context_tokens)
    return model


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
    spec: AgentSpec | None = None,
) -> dict[str, Any]:
    """The ``Agent(...)`` arguments every agent gets: identity, trace attributes, no printing.

    With ``spec``, also the agent's conversation manager and throttling-retry strategy
    (``conversation`` and ``retry`` in ``agents.yaml``).
    """
    attributes = agent_trace_attributes(
        session_id=session_id,
        user_id=user_id,
        vendor_id=vendor_id,
        agent_type=agent_type,
        run_id=run_id,
        extra=extra,
    )
    managed: dict[str, Any] = {}
    if spec is not None:
        managed = {
            "conversation_manager": make_conversation_manager(spec.conversation),
            "retry_strategy": make_retry(spec.retry),
        }
    return {
        **managed,
        "name": name,
        "agent_id": name,
        "callback_handler": None,
        "trace_attributes": attributes,
        "hooks": [AgentObservabilityHook(attributes), *(hooks or [])],
    }
