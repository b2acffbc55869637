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

from agent_runtime.canvas import Canvas, CanvasError
from agent_runtime.contract import EditOp

__all__ = ["apply_edit", "commit_step", "undo", "redo", "describe_ops"]

logger = logging.getLogger(__name__)


def commit_step(canvas: Canvas, label: str) -> bool:
    """Record the canvas's changes since the last step as one undo step; ``False`` if none."""
    with canvas.lock:
        return canvas.history.commit(canvas.state(), label)


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
    """A short label for an edit, e.g. ``edit: update_module, move_module``."""
    names = list(dict.fromkeys(op.tool for op in ops))
    return "edit: " + ", ".join(names[:4]) + (", …" if len(names) > 4 else "")
