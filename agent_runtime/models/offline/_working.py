"""The working copy of the outline that chat edits are applied to, and the plan they produce."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from agent_runtime.contract import ModuleStatus

from ._refs import Numbering, resolve, resolve_many
from ._types import ToolCall

__all__ = ["BUSY_MESSAGE", "EditPlan", "WorkingCanvas"]

BUSY_MESSAGE = (
    "The modules are being built right now, so I can't add, remove or move modules until the build "
    "finishes (or you stop it). Renaming works any time."
)


@dataclass
class WorkingCanvas:
    """The outline as the edits so far have left it."""

    title: str
    titles: list[str]
    statuses: list[str]
    numbering: Numbering
    building: bool = False
    """Whether modules are being built right now (structural edits must wait)."""
    tasks: list[list[dict[str, Any]]] = field(default_factory=list)
    """Each module's tasks (``TaskSpec`` dicts), as the edits so far have left them."""
    descriptions: list[str] = field(default_factory=list)
    selected: dict[str, Any] | None = None
    """What the person selected on the canvas (``module_index``, ``task_index``?; zero-based, as
    the canvas was at the start of the turn), from the system prompt's context."""
    selection_note: str | None = None
    """Why the page's selection was ignored this turn, if it was."""

    @classmethod
    def from_canvas(cls, canvas: dict[str, Any]) -> WorkingCanvas:
        """Copy what edits need from a ``PlaybookSpec`` dict."""
        modules = canvas.get("modules") or []
        return cls(
            title=str(canvas.get("title") or ""),
            titles=[str(m.get("title") or "") for m in modules],
            statuses=[str(m.get("status") or ModuleStatus.PENDING) for m in modules],
            numbering=Numbering.identity(len(modules)),
            tasks=[copy.deepcopy(list(m.get("tasks") or [])) for m in modules],
            descriptions=[str(m.get("description") or "") for m in modules],
        )

    def resolve(self, ref: str, *, allow_playbook: bool = False) -> int:
        """Resolve a module reference against the outline as it is now (numbers as first seen)."""
        return resolve(ref, self.titles, allow_playbook=allow_playbook, numbering=self.numbering)

    def resolve_many(self, ref: str) -> list[int]:
        """Resolve a list of module references."""
        return resolve_many(ref, self.titles, self.numbering)

    def insert(self, index: int, title: str) -> None:
        """Record a module added at ``index``."""
        self.titles.insert(index, title)
        self.statuses.insert(index, ModuleStatus.PENDING.value)
        self.numbering.origin.insert(index, None)
        self.tasks.insert(index, [])
        self.descriptions.insert(index, "")

    def pop(self, index: int) -> str:
        """Record the removal of the module at ``index``; returns its title."""
        self.statuses.pop(index)
        self.numbering.origin.pop(index)
        if index < len(self.tasks):
            self.tasks.pop(index)
            self.descriptions.pop(index)
        return self.titles.pop(index)

    def move(self, source: int, target: int) -> None:
        """Record a move (same semantics as the ``move_module`` tool: pop, then insert)."""
        for values in (self.titles, self.statuses, self.numbering.origin, self.tasks, self.descriptions):
            if len(values) == len(self.titles):
                values.insert(target, values.pop(source))  # type: ignore[arg-type]


@dataclass
class EditPlan:
    """What the parsed prompt asks for."""

    calls: list[ToolCall] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    build: list[int] | None = None
    build_requested: bool = False
    unparsed: list[str] = field(default_factory=list)
