"""The offline planner's "undo", "revert that" and "redo".

The canvas context the orchestrator's prompt ends with carries ``history: {can_undo, can_redo}``,
so the plan knows before the call whether it can succeed: it calls ``undo_last_change`` /
``redo_last_change`` and says what happened, or says why it cannot (nothing to undo or redo, or a
build is running).
"""

from __future__ import annotations

import re
from typing import Any

from agent_runtime.contract import Phase, ToolName

from ._types import Reply, call

__all__ = ["history_request", "history_turn"]

_POLITE = r"^\W*(?:(?:please|ok(?:ay)?|hmm+|oops|no|actually|can you|could you)[\s,!.]+)*"
_UNDO = re.compile(
    _POLITE + r"(?:undo|revert|roll ?back|take back)(?:\s+(?:that|this|it|the last change|your last change|"
    r"my last change|the last edit|the change|what you did))?(?:\s+please)?\W*$",
    re.IGNORECASE,
)
_REDO = re.compile(
    _POLITE + r"(?:redo|put it back|bring it back)(?:\s+(?:that|this|it|the change))?(?:\s+please)?\W*$",
    re.IGNORECASE,
)


def history_request(prompt: str) -> str | None:
    """``"undo"``, ``"redo"`` or ``None`` for a message that asks for neither."""
    text = " ".join((prompt or "").split())
    if len(text) > 60:
        return None
    if _UNDO.match(text):
        return "undo"
    if _REDO.match(text):
        return "redo"
    return None


def history_turn(request: str, history: dict[str, Any] | None, phase: str) -> list[Reply]:
    """The replies for an undo or redo request (``request`` from :func:`history_request`)."""
    flags = history if isinstance(history, dict) else {}
    if str(phase) == Phase.BUILDING.value:
        return [
            Reply(
                f"I can't {request} while modules are being built — wait for the build to finish, "
                "or stop it first."
            )
        ]
    if request == "undo":
        if not flags.get("can_undo"):
            return [Reply("There's nothing to undo yet.")]
        text = "Done — I undid the last change; the canvas is back to how it was before it."
        return [
            Reply(None, (call(ToolName.UNDO_LAST_CHANGE.value),)),
            Reply(text, (call(ToolName.SUGGEST_REPLIES.value, replies=["Redo"]),)),
            Reply(None, ()),
        ]
    if not flags.get("can_redo"):
        return [Reply("There's nothing to redo.")]
    return [
        Reply(None, (call(ToolName.REDO_LAST_CHANGE.value),)),
        Reply("Done — I redid the change.", (call(ToolName.SUGGEST_REPLIES.value, replies=["Undo"]),)),
        Reply(None, ()),
    ]
