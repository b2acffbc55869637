"""What the person selected on the canvas, checked against the canvas, for the orchestrator's prompt.

The page sends ``ui_context: {"selected": {"module_index": i, "task_index": j}}`` with a chat
turn (zero-based; ``task_index`` optional). :func:`resolve_selection` checks it against the
session's playbook *at the start of the turn*: a selection names a module (and task) that exists,
or it is ignored for this turn with a note for the model — the turn itself always runs.

Pure domain code: no strands, no I/O.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from agent_runtime.contract import PlaybookSpec, UiSelection

__all__ = ["Selection", "SelectionCheck", "resolve_selection"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Selection:
    """A selected module, or one task of it, as it is on the canvas.

    Attributes:
        module_index: Zero-based module index.
        module_title: The module's title.
        task_index: Zero-based task index, or ``None`` for the whole module.
        task_title: The task's title, or ``None``.
    """

    module_index: int
    module_title: str
    task_index: int | None = None
    task_title: str | None = None

    def describe(self) -> str:
        """The selection in words, with people's numbers and the tool indices."""
        module = f'module {self.module_index + 1} "{self.module_title}" (module_index {self.module_index})'
        if self.task_index is None:
            return f"the whole of {module}"
        return f'task {self.task_index + 1} "{self.task_title}" (task_index {self.task_index}) of {module}'

    def context(self) -> dict[str, Any]:
        """The selection for the JSON context block (zero-based, with titles)."""
        data: dict[str, Any] = {"module_index": self.module_index, "module_title": self.module_title}
        if self.task_index is not None:
            data["task_index"] = self.task_index
            data["task_title"] = self.task_title
        return data


@dataclass(frozen=True)
class SelectionCheck:
    """The outcome of checking the page's selection: the selection, or why it was ignored.

    Attributes:
        selection: The checked selection (``None`` when there is none or it was ignored).
        note: Why a selection the page sent was ignored, for the model; ``None`` otherwise.
    """

    selection: Selection | None = None
    note: str | None = None


def resolve_selection(ui_context: dict[str, Any] | None, playbook: PlaybookSpec) -> SelectionCheck:
    """Check ``ui_context["selected"]`` against ``playbook``.

    Args:
        ui_context: The chat turn's ``ui_context`` (anything the page sent, or ``None``).
        playbook: The session's playbook at the start of the turn.

    Returns:
        The selection, or a note saying why the page's selection was ignored (malformed, or naming a
        module or task the canvas does not have — the page showed an older canvas). Never raises.
    """
    raw = ui_context.get("selected") if isinstance(ui_context, dict) else None
    if raw is None:
        return SelectionCheck()
    try:
        wanted = UiSelection.model_validate(raw)
    except ValidationError:
        logger.warning("selected=<%.120r> | ignoring a malformed selection", raw)
        return SelectionCheck(note=_IGNORED + " (the page sent it in a form this runtime does not read).")
    modules = playbook.modules
    if wanted.module_index >= len(modules):
        count = len(modules)
        return SelectionCheck(
            note=f"{_IGNORED}: it named module {wanted.module_index + 1}, but the playbook has {count} "
            f"module{'s' * (count != 1)} now."
        )
    module = modules[wanted.module_index]
    if wanted.task_index is None:
        return SelectionCheck(Selection(wanted.module_index, module.title))
    tasks = module.tasks
    if wanted.task_index >= len(tasks):
        count = len(tasks)
        return SelectionCheck(
            note=f"{_IGNORED}: it named task {wanted.task_index + 1} of module {wanted.module_index + 1} "
            f'"{module.title}", which has {count} task{"s" * (count != 1)} now.'
        )
    task = tasks[wanted.task_index]
    return SelectionCheck(Selection(wanted.module_index, module.title, wanted.task_index, task.title))


_IGNORED = "The page sent a selection that does not match the canvas, so nothing is selected this turn"
