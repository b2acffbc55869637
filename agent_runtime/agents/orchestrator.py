"""The playbook orchestrator: a per-session Strands agent that edits the canvas through tools.

The agent (and with it the conversation) lives in the session entry across turns; its system
prompt is rebuilt every turn from the canvas by :func:`build_system_prompt`. Its tools apply
through :class:`OrchestratorApplier`, which validates every call with ``Canvas.apply``, streams
the applied call as ``TOOL_CALL_START/ARGS/END`` on the turn's stream, and starts background
builds for ``build_modules``.

Two hooks ride on the agent: a :class:`StopCheckHook` re-bound to each turn's stop flag (and the
stored-flag probe), and an :class:`~agent_runtime.approvals.hook.ApprovalHook` that pauses a call
the approval rules gate *before* it runs (a Strands interrupt), so a paused call is never applied
nor announced. With a Strands session manager the agent's conversation, state and interrupt state
are persisted and, for a stored session, restored when the agent is created.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from strands import Agent
from strands.models.model import Model
from strands.session.session_manager import SessionManager
from strands.tools.executors import SequentialToolExecutor

from agent_runtime.agents._common import StopCheckHook, agent_kwargs, with_context_limit
from agent_runtime.agents.registry import AgentSpec
from agent_runtime.approvals.hook import ApprovalHook
from agent_runtime.approvals.rules import ApprovalRule
from agent_runtime.canvas import Canvas, CanvasError
from agent_runtime.canvas_edits import redo, undo
from agent_runtime.contract import HISTORY_TOOLS, ModuleStatus, ToolErrorCode, ToolName
from agent_runtime.events.emitter import RunEmitter
from agent_runtime.history import HistoryError
from agent_runtime.messages import render_context
from agent_runtime.models.retry import ModelRetry
from agent_runtime.selection import SelectionCheck
from agent_runtime.session.cache import SessionEntry
from agent_runtime.tools import make_tools
from agent_runtime.usage import PriceTable, UsageHook, with_usage

__all__ = [
    "BuildStarter",
    "OrchestratorApplier",
    "build_system_prompt",
    "system_prompt_blocks",
    "get_orchestrator",
    "BUILD_RUNNING",
]

logger = logging.getLogger(__name__)

BUILD_RUNNING = ToolErrorCode.BUILD_RUNNING
"""CanvasError code: the call would move modules under running builders."""

_STRUCTURAL = frozenset(
    {
        ToolName.SET_PLAYBOOK_OUTLINE,
        ToolName.ADD_MODULE,
        ToolName.REMOVE_MODULE,
        ToolName.MOVE_MODULE,
        ToolName.BUILD_MODULES,
    }
)


_TASK_EDITS = frozenset({ToolName.ADD_TASK_STEP, ToolName.SET_MODULE_TASKS})
"""Task edits the orchestrator makes on the person's request (a selected task, "task 2 of module 1")."""


def _refuse_under_builder(canvas: Canvas, args: dict[str, Any]) -> None:
    """Refuse a task edit on a module a running build has not finished (its builder owns its tasks).

    Raises:
        CanvasError: ``BUILD_RUNNING``.
    """
    index = args.get("module_index") if isinstance(args, dict) else None
    if not isinstance(index, int) or not 0 <= index < canvas.module_count:
        return  # the canvas refuses it with NOT_FOUND / INVALID_TOOL_ARGS
    if canvas.module(index).status in (ModuleStatus.PENDING, ModuleStatus.BUILDING):
        raise CanvasError(
            BUILD_RUNNING,
            f"module {index} is being built right now; change its tasks once its build finishes",
        )


class BuildStarter(Protocol):
    """Starts module builders for a session (the build manager)."""

    def start(self, entry: SessionEntry, module_indices: list[int]) -> Any:
        """Submit one builder per module and return at once."""


def build_system_prompt(
    canvas: Canvas,
    handoff_context: str | None,
    *,
    instructions: str,
    documents: str = "",
    attachments: list[dict[str, Any]] | None = None,
    selection: SelectionCheck | None = None,
) -> str:
    """The orchestrator's system prompt for this turn.

    The instructions, a readable canvas summary, what the person selected on the canvas (or why the
    page's selection was ignored), the router's handoff context (first turn only), the session's
    attached documents (this turn's in full), and the canvas as a fenced JSON block at the very end
    (models read it; the offline model plans from it — ``selected`` included — and from
    ``attachments``: this turn's documents' outlines).
    """
    return (
        instructions.strip() + "\n" + _canvas_part(canvas, handoff_context, documents, attachments, selection)
    )


def system_prompt_blocks(
    canvas: Canvas,
    handoff_context: str | None,
    *,
    instructions: str,
    cache: bool,
    documents: str = "",
    attachments: list[dict[str, Any]] | None = None,
    selection: SelectionCheck | None = None,
) -> str | list[dict[str, Any]]:
    """:func:`build_system_prompt`, as content blocks with a cache point after the stable part.

    The instructions never change within a session, the rest (canvas, documents) changes every
    turn: a prompt cache point between them lets the model reuse the instructions (and, before
    them, the tool specs). Without ``cache`` the plain string.
    """
    if not cache:
        return build_system_prompt(
            canvas,
            handoff_context,
            instructions=instructions,
            documents=documents,
            attachments=attachments,
            selection=selection,
        )
    return [
        {"text": instructions.strip()},
        {"cachePoint": {"type": "default"}},
        {"text": _canvas_part(canvas, handoff_context, documents, attachments, selection)},
    ]


def _canvas_part(
    canvas: Canvas,
    handoff_context: str | None,
    documents: str = "",
    attachments: list[dict[str, Any]] | None = None,
    selection: SelectionCheck | None = None,
) -> str:
    snapshot = canvas.snapshot()
    parts = ["", "## The canvas now", canvas.summary_for_prompt()]
    chosen = selection.selection if selection is not None else None
    if chosen is not None:
        parts += ["", "## What the person selected", _SELECTED.format(what=chosen.describe())]
    elif selection is not None and selection.note:
        parts += ["", "## What the person selected", selection.note + " " + _UNSELECTED]
    if handoff_context:
        parts += ["", "## What the person wants (from the router)", handoff_context.strip()]
    if documents:
        parts += ["", documents]
    context = {
        "phase": snapshot["phase"],
        "version": snapshot["version"],
        "canvas": snapshot["canvas"],
        "history": snapshot["history"],
        "handoff_context": handoff_context or None,
    }
    if attachments:
        context["attachments"] = attachments
    if chosen is not None:
        context["selected"] = chosen.context()
    elif selection is not None and selection.note:
        context["selection_note"] = selection.note
    parts += ["", "## The canvas as JSON (zero-based indices)", render_context(context)]
    return "\n".join(parts)


_SELECTED = (
    'The person has selected {what} on the canvas. Words such as "this", "it" or "here" in '
    "their message mean that item: change the selected item only, and leave every other module and "
    "task as it is unless they name it."
)
_UNSELECTED = 'If the message says "this" or "it", ask which module or task they mean.'


class OrchestratorApplier:
    """Applies the orchestrator's tool calls to the session canvas and streams them."""

    def __init__(self, entry: SessionEntry, builds: BuildStarter) -> None:
        """Bind to a session; :attr:`emitter` is set at the start of every turn."""
        self.entry = entry
        self.builds = builds
        self.emitter: RunEmitter | None = None
        self.stop_hook = StopCheckHook()
        """Re-bound to each turn's stop flag (and stored-flag probe)."""
        self.usage_hook: UsageHook | None = None
        """Meters the model's usage; re-bound to each turn's meter."""
        self.retry: ModelRetry | None = None
        """The agent's throttling-retry strategy; each turn binds its retry notice to its stream."""

    def announce(self, tool_use_id: str, name: str, args: dict[str, Any]) -> None:
        """Stream a non-canvas tool call (an MCP tool) on the current turn, if any."""
        if self.emitter is not None:
            self.emitter.tool_call(tool_use_id, name, args)

    def apply(self, tool_use_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Validate and apply one call; stream it; start builds for ``build_modules``.

        Raises:
            CanvasError: Refused (invalid, out of range, or a structural edit during a build).
        """
        entry = self.entry
        canvas = entry.canvas
        if name in HISTORY_TOOLS:
            return self._history(tool_use_id, name)
        with canvas.lock:
            build = entry.build
            if name in _STRUCTURAL and build is not None and build.running:
                raise CanvasError(
                    BUILD_RUNNING,
                    "modules are being built right now; wait until the build finishes (or stop it) "
                    "before adding, removing, moving or rebuilding modules",
                )
            if name in _TASK_EDITS and build is not None and build.running:
                _refuse_under_builder(canvas, args)
            result, validated = canvas.apply_call(name, args)  # validated once, not again for the wire
            if name == ToolName.BUILD_MODULES:
                wire = {"module_indices": list(result.get("module_indices", []))}
            else:
                wire = validated
        if name == ToolName.BUILD_MODULES and not wire["module_indices"]:
            return result
        if self.emitter is not None:
            self.emitter.tool_call(tool_use_id, name, wire)
        if name == ToolName.BUILD_MODULES:
            self.builds.start(entry, wire["module_indices"])
            result = {**result, "status": "building in the background; tell the person it has started"}
        return result

    def _history(self, tool_use_id: str, name: str) -> dict[str, Any]:
        """``undo_last_change`` / ``redo_last_change``: stream the call, then the restored canvas."""
        entry = self.entry
        canvas = entry.canvas
        with canvas.lock:
            build = entry.build
            if build is not None and build.running:
                raise CanvasError(BUILD_RUNNING, "modules are being built; undo and redo wait until it ends")
            try:
                label = undo(canvas) if name == ToolName.UNDO_LAST_CHANGE else redo(canvas)
            except HistoryError as exc:
                raise CanvasError(ToolErrorCode.NOT_FOUND, exc.message) from None
            snapshot = canvas.snapshot()
        if self.emitter is not None:
            self.emitter.tool_call(tool_use_id, name, {})
            self.emitter.snapshot(with_usage(snapshot, entry.usage))
        verb = "undone" if name == ToolName.UNDO_LAST_CHANGE else "redone"
        return {"ok": True, verb: label, "version": snapshot["version"], **snapshot["history"]}


def get_orchestrator(
    entry: SessionEntry,
    *,
    spec: AgentSpec,
    model_factory: Any,
    builds: BuildStarter,
    rules: Sequence[ApprovalRule] = (),
    session_manager: SessionManager | None = None,
    prices: PriceTable | None = None,
) -> tuple[Agent, OrchestratorApplier]:
    """The session's orchestrator agent and its applier, created on first use.

    Args:
        entry: The session.
        spec: The orchestrator's spec.
        model_factory: Gives the ``orchestrator`` model.
        builds: Starts module builds.
        rules: Approval rules; a matching tool call pauses the agent (a Strands interrupt).
        session_manager: Persists the conversation, agent state and interrupt state; when the
            session is already stored, creating the agent restores them.
        prices: Prices the model's usage (a :class:`~agent_runtime.usage.UsageHook` is added).

    MCP tools are attached per turn (:func:`agent_runtime.actions._orchestrate.run_orchestrator`).
    """
    cached = entry.agents.get(spec.name)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    applier = OrchestratorApplier(entry, builds)
    if prices is not None:
        applier.usage_hook = UsageHook(prices)
    approvals = ApprovalHook(rules, lambda: entry.canvas.snapshot()["canvas"])
    model: Model = with_context_limit(model_factory.create(spec.model_role), spec)
    kwargs = agent_kwargs(
        name=spec.name,
        agent_type="orchestrator",
        session_id=entry.session_id,
        user_id=entry.user_id,
        vendor_id=entry.vendor_id,
        # stop first: a stopped call is never gated
        hooks=[applier.stop_hook, approvals, *([applier.usage_hook] if applier.usage_hook else [])],
        spec=spec,
    )
    applier.retry = kwargs.get("retry_strategy")
    agent = Agent(
        model=model,
        tools=make_tools(list(spec.tools), applier),
        system_prompt=spec.prompt_text,
        tool_executor=SequentialToolExecutor(),
        session_manager=session_manager,
        **kwargs,
    )
    entry.agents[spec.name] = (agent, applier)
    return agent, applier
