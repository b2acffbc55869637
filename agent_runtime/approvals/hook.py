"""The approval hook: pauses the orchestrator before a tool call the rules gate (Strands interrupts).

Before a gated call runs, :class:`ApprovalHook` raises a Strands interrupt named
:data:`~agent_runtime.approvals.pending.APPROVAL_INTERRUPT` whose ``reason`` is the
:class:`~agent_runtime.approvals.rules.ApprovalMatch`; the agent loop stops with
``stop_reason == "interrupt"`` before the tool ran, so the canvas tool never announced the call
(``TOOL_CALL_*`` are emitted only by a tool that ran). Resuming the agent with an
``interruptResponse`` ``{"decision", "context"}`` calls the hook again, which now receives the
answer:

* ``approve`` — the call runs as proposed;
* ``reject`` / ``add_context`` — the call is cancelled with a decision note as its tool result
  (``messages.decision_note``); the model reads it and answers (``add_context`` carries the
  person's instructions, which the model follows);
* ``reroute`` / ``superseded`` / ``expired`` — the call is cancelled and the turn ends right after
  the tool batch without another model call (``AfterToolsEvent.end_turn``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from strands.hooks import AfterToolsEvent, BeforeToolCallEvent, HookProvider, HookRegistry

from agent_runtime.approvals.pending import APPROVAL_INTERRUPT
from agent_runtime.approvals.rules import ApprovalRule, evaluate
from agent_runtime.messages import decision_note
from agent_runtime.strands_compat import answered_interrupt_reason

__all__ = ["ApprovalHook", "SILENT_DECISIONS"]

logger = logging.getLogger(__name__)

SILENT_DECISIONS = frozenset({"reroute", "superseded", "expired"})
"""Decisions that end the paused turn without another model call."""

_END_TEXT = {
    "reroute": "I've handed this request back to the router; nothing was changed.",
    "superseded": "That approval request was set aside for your new message; nothing was changed.",
    "expired": "That approval request expired; nothing was changed.",
}


class ApprovalHook(HookProvider):
    """Raises approval interrupts for gated tool calls and applies the answers."""

    def __init__(self, rules: Sequence[ApprovalRule], canvas: Callable[[], Mapping[str, Any]]) -> None:
        """Gate calls by ``rules``, evaluated against ``canvas()`` (the playbook as JSON)."""
        self._rules = tuple(rules)
        self._canvas = canvas
        self._end_turn: str | None = None

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        """Register the before-tool gate and the after-tools turn end."""
        registry.add_callback(BeforeToolCallEvent, self._before_tool)
        registry.add_callback(AfterToolsEvent, self._after_tools)

    def _before_tool(self, event: BeforeToolCallEvent) -> None:
        if event.cancel_tool:
            return
        name = str(event.tool_use.get("name", ""))
        gated = any(rule.tool == name for rule in self._rules)  # the canvas is read only then
        match = evaluate(self._rules, name, event.tool_use.get("input"), self._canvas()) if gated else None
        paused = answered_interrupt_reason(event, APPROVAL_INTERRUPT)
        if match is None and paused is None:
            return
        # A call paused earlier keeps the answer it was given, even if the rules changed since
        # (a restarted runtime with other settings): a rejected call never runs.
        reason = paused or {
            **(match.to_dict() if match else {}),
            "tool": name,
            "tool_call_id": str(event.tool_use.get("toolUseId", "")) or None,
            "args": event.tool_use.get("input") if isinstance(event.tool_use.get("input"), dict) else {},
        }
        response = event.interrupt(APPROVAL_INTERRUPT, reason=reason)  # raises until answered
        answer = response if isinstance(response, dict) else {"decision": str(response)}
        decision = str(answer.get("decision", "reject"))
        logger.info(
            "tool=<%s>, rule=<%s>, decision=<%s> | approval answered", name, reason.get("rule"), decision
        )
        if decision == "approve":
            return
        event.cancel_tool = decision_note(decision, str(reason.get("summary", name)), answer.get("context"))
        if decision in SILENT_DECISIONS:
            self._end_turn = _END_TEXT[decision]

    def _after_tools(self, event: AfterToolsEvent) -> None:
        if self._end_turn is not None:
            event.end_turn = self._end_turn
            self._end_turn = None
