"""The person's own changes to a canvas: direct edits, undo and redo, and where undo steps end.

* :func:`apply_edit` applies an ``edit`` request's ops all or nothing: each goes through
  :meth:`Canvas.apply <agent_runtime.canvas.Canvas.apply>` — the very validation the agents'
  tool calls get — on a copy of the canvas; only when every op succeeds does the copy become the
  canvas, as one new version and one undo step.
* :func:`undo` / :func:`redo` move through :class:`~agent_runtime.history.CanvasHistory`; the
  restored canvas is a new version.
* :func:`commit_step` closes an undo step (a chat turn's end, a build's end).

Callers check that no build runs (the canvas does not know about builds). Pure domain code.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from agent_runtime.canvas import Canvas, CanvasError
from agent_runtime.contract import EditOp, ToolName

__all__ = ["apply_edit", "close_turn", "commit_step", "undo", "redo", "describe_ops"]

logger = logging.getLogger(__name__)


def commit_step(canvas: Canvas, label: str) -> bool:
    """Record the canvas's changes since the last step as one undo step; ``False`` if none."""
    with canvas.lock:
        return canvas.history.commit(canvas.state(), label)


def close_turn(canvas: Canvas, label: str, *, building: bool) -> None:
    """The end of a chat turn: its changes are one undo step (unless a build it started runs on:
    then they are one step with the build), and the agent has now seen the person's own changes."""
    with canvas.lock:
        if not building:
            canvas.history.commit(canvas.state(), label)
        canvas.history.notes = []


def apply_edit(canvas: Canvas, ops: Sequence[EditOp], label: str = "edit") -> None:
    """Apply ``ops`` in order, all or nothing, as one new version and one undo step.

    Raises:
        CanvasError: An op was refused (its code and ``op <n>: <why>``); the canvas is unchanged.
    """
    with canvas.lock:
        commit_step(canvas, "changes")  # whatever came before is its own step
        trial = Canvas(canvas.playbook, phase=canvas.phase, version=canvas.version)
        for number, op in enumerate(ops):
            try:
                trial.apply(op.tool, dict(op.args))
            except CanvasError as exc:
                raise CanvasError(exc.code, f"op {number} ({op.tool}): {exc.message}") from None  # type: ignore[arg-type]
        canvas.adopt(trial)
        canvas.history.commit(canvas.state(), label)


def undo(canvas: Canvas) -> str:
    """Restore the canvas as it was before the last change; returns that change's label.

    Raises:
        HistoryError: ``NOTHING_TO_UNDO``.
    """
    with canvas.lock:
        state, label = canvas.history.undo(canvas.state())
        canvas.restore(state)
        return label


def redo(canvas: Canvas) -> str:
    """Re-apply the change the last undo took back; returns its label.

    Raises:
        HistoryError: ``NOTHING_TO_REDO``.
    """
    with canvas.lock:
        state, label = canvas.history.redo(canvas.state())
        canvas.restore(state)
        return label


def describe_ops(ops: Sequence[EditOp]) -> str:
    """An edit in words (numbers as people count), e.g. ``renamed module 2 to “Kickoff call”``."""
    words = [_describe(op.tool, op.args) for op in ops[:3]]
    more = len(ops) - len(words)
    return "; ".join(words) + (f"; and {more} more change{'s' if more > 1 else ''}" if more > 0 else "")


def _describe(tool: str, args: dict[str, Any]) -> str:
    module = f"module {int(args.get('module_index', 0)) + 1}"
    task = f"task {int(args.get('task_index', 0)) + 1} of {module}"
    title = args.get("title")
    named = f" to “{title}”" if isinstance(title, str) else ""
    renamed = "renamed" if named else "changed the description of"
    described = {
        ToolName.UPDATE_MODULE: f"{renamed} {module}{named}",
        ToolName.UPDATE_TASK: f"{renamed} {task}{named}",
        ToolName.UPDATE_PLAYBOOK: f"{renamed} the playbook{named}",
        ToolName.MOVE_MODULE: f"moved module {int(args.get('from_index', 0)) + 1} to position "
        f"{int(args.get('to_index', 0)) + 1}",
        ToolName.REMOVE_MODULE: f"removed {module}",
        ToolName.REMOVE_TASK: f"removed {task}",
        ToolName.ADD_MODULE: f"added a module “{title}”",
        ToolName.ADD_TASKS: f"added {len(args.get('tasks') or [])} task(s) to {module}",
        ToolName.ADD_TASK_STEP: f"added a step to {task}",
        ToolName.SET_MODULE_TASKS: f"replaced the tasks of {module}",
        ToolName.SET_PLAYBOOK_OUTLINE: "replaced the outline",
    }
    return described.get(ToolName(tool), tool)
