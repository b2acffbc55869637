"""Auditing the person's own changes to a builder canvas: direct edits, undo and redo.

``POST /api/agent/run/<sid>/edit|undo|redo`` are proxied like any out-of-band action (the body
size-limited and validated by the contract's payload schemas first: 1–50 ops, each a tool name and
an args object; the runtime validates each op with the tool's own schema); each one that reaches
the runtime becomes one audit row when its stream ends: ``draft.edit`` / ``draft.undo`` /
``draft.redo`` with outcome ``accepted`` or ``refused:<code>`` (``VERSION_CONFLICT``,
``BUILD_IN_PROGRESS``, ``NOTHING_TO_UNDO``, …) and, for an edit, what it did (tool and indices per
op, the base version). A chat turn's canvas changes are the assistant's and are not rows; these are
the person's hand on the draft, like a save.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from agent_runtime.contract import Action, EditPayload, Limits, RedoPayload, UndoPayload

from ..audit import AuditAction, AuditContext, StreamResult, TerminalScanner, append_now

__all__ = ["CHANGE_ACTIONS", "CanvasChangeAudit"]

logger = logging.getLogger(__name__)

CHANGE_ACTIONS = frozenset({Action.EDIT, Action.UNDO, Action.REDO})
"""The out-of-band actions that change the canvas by the person's hand."""

_AUDIT_ACTION = {
    Action.EDIT: AuditAction.DRAFT_EDIT,
    Action.UNDO: AuditAction.DRAFT_UNDO,
    Action.REDO: AuditAction.DRAFT_REDO,
}
_INDEX_KEYS = ("module_index", "task_index", "from_index", "to_index", "position")


def _op_summary(tool: str, args: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {"tool": tool}
    summary.update({key: args[key] for key in _INDEX_KEYS if isinstance(args.get(key), int)})
    if isinstance(args.get("title"), str):
        summary["title"] = args["title"][: Limits.MAX_TITLE_CHARS]
    return summary


class CanvasChangeAudit:
    """Observes one relayed edit/undo/redo stream; appends its audit row when the stream ends."""

    def __init__(
        self, engine: Engine, who: AuditContext, payload: EditPayload | UndoPayload | RedoPayload
    ) -> None:
        """Audit ``payload`` as ``who``."""
        self._engine = engine
        self._who = who
        self._action = _AUDIT_ACTION[Action(payload.action)]
        self._sid = payload.session_id
        self._detail: dict[str, Any] = {}
        if isinstance(payload, EditPayload):
            self._detail = {
                "base_version": payload.base_version,
                "ops": [_op_summary(op.tool, op.args) for op in payload.ops],
            }
        self._scanner = TerminalScanner()

    def feed(self, chunk: bytes) -> None:
        """A copy of the next chunk."""
        self._scanner.feed(chunk)

    def closed(self, result: StreamResult) -> None:
        """Append the row: ``accepted``, ``refused:<code>`` or the relay's ``failed:…``."""
        scanner = self._scanner
        if scanner.terminal == "RUN_ERROR":
            self._append(f"refused:{scanner.error_code}")
        else:
            self._append(scanner.outcome(result))

    def upstream_refused(self, status: int, code: str) -> None:
        """The runtime could not be reached or refused the call: ``failed:<status>``."""
        del code
        self._append(f"failed:{status}")

    def _append(self, outcome: str) -> None:
        append_now(
            self._engine,
            self._who,
            self._action,
            session_id=self._sid,
            outcome=outcome,
            subject_type="draft",
            subject_id=self._sid,
            detail=self._detail,
        )
        logger.info(
            "session_id=<%s>, action=<%s>, outcome=<%s> | canvas change audited",
            self._sid,
            self._action,
            outcome,
        )
