"""The session's playbook canvas: the one piece of state every canvas tool edits.

Every tool call is validated against :data:`agent_runtime.contract.TOOL_ARGS` and the limits in
:class:`agent_runtime.contract.Limits` *before* anything changes, so a rejected call leaves the
canvas (and its version) exactly as it was. Builders call :meth:`Canvas.apply` from worker
threads; every public method holds :attr:`Canvas.lock` (re-entrant, so callers may hold it too).

Pure domain code: no strands, no I/O. It stays one module of ~430 lines on purpose: the tool
handlers are methods that change the canvas's private state under its one lock, and moving them out
would expose that state or add methods that only forward.
"""

from __future__ import annotations

import threading
from typing import Any

from agent_runtime.canvas_errors import CanvasError
from agent_runtime.canvas_errors import validate as _validate
from agent_runtime.contract import (
    TOOL_ARGS,
    Limits,
    ModuleSpec,
    ModuleStatus,
    Phase,
    PlaybookSpec,
    ToolName,
)
from agent_runtime.history import CanvasHistory

__all__ = ["Canvas", "CanvasError"]

_SUMMARY_DESCRIPTION_CHARS = 140


class Canvas:
    """A playbook being built in one session, with its phase and a change counter.

    Attributes:
        lock: Re-entrant lock guarding every read and write.
        phase: Where the playbook is in its life.
        version: Incremented by every change (``suggest_replies`` does not change anything).
        history: Its undo/redo steps (:mod:`agent_runtime.history`).
    """

    def __init__(
        self,
        playbook: PlaybookSpec | dict[str, Any] | None = None,
        phase: Phase = Phase.EMPTY,
        version: int = 0,
    ) -> None:
        """Create a canvas.

        Args:
            playbook: The initial playbook (a model or its dict); empty when omitted.
            phase: The initial phase.
            version: The initial version.

        Raises:
            CanvasError: ``INVALID_TOOL_ARGS`` when ``playbook`` does not validate.
        """
        self.lock = threading.RLock()
        if playbook is None:
            self._playbook = PlaybookSpec()
        elif isinstance(playbook, PlaybookSpec):
            self._playbook = playbook.model_copy(deep=True)
        else:
            self._playbook = _validate(PlaybookSpec, playbook)
        self.phase = Phase(phase)
        self.version = int(version)
        self.history = CanvasHistory(self.state())

    # ------------------------------------------------------------------------------------------
    # Reading
    # ------------------------------------------------------------------------------------------

    @property
    def playbook(self) -> PlaybookSpec:
        """A deep copy of the playbook."""
        with self.lock:
            return self._playbook.model_copy(deep=True)

    @property
    def module_count(self) -> int:
        """How many modules the playbook has."""
        with self.lock:
            return len(self._playbook.modules)

    def module(self, index: int) -> ModuleSpec:
        """A deep copy of one module.

        Raises:
            CanvasError: ``NOT_FOUND`` for an index out of range.
        """
        with self.lock:
            self._check_module_index(index)
            return self._playbook.modules[index].model_copy(deep=True)

    def snapshot(self) -> dict[str, Any]:
        """The ``STATE_SNAPSHOT`` body: ``{"phase", "canvas", "version", "history"}`` (JSON-able).

        ``history`` is ``{"can_undo", "can_redo"}``.
        """
        with self.lock:
            state = self.state()
            return {**state, "version": self.version, "history": self.history.flags(state)}

    def state(self) -> dict[str, Any]:
        """What undo restores: ``{"phase", "canvas"}`` (JSON-able, a fresh copy)."""
        with self.lock:
            return {"phase": self.phase.value, "canvas": self._playbook.model_dump(mode="json")}

    def restore(self, state: dict[str, Any]) -> None:
        """Put back a :meth:`state` (undo, redo, an edit) as a new version.

        A ``building`` phase is never restored (no builder runs it): it becomes ``refinement``.

        Raises:
            CanvasError: ``INVALID_TOOL_ARGS`` when the state does not validate.
        """
        playbook = _validate(PlaybookSpec, state.get("canvas") or {})
        phase = Phase(state.get("phase", Phase.EMPTY))
        with self.lock:
            self._playbook = playbook
            self.phase = Phase.REFINEMENT if phase == Phase.BUILDING else phase
            self.version += 1

    def adopt(self, other: Canvas) -> None:
        """Take ``other``'s playbook and phase (validated: an edit tried on a copy) as a new version."""
        with self.lock, other.lock:
            self._playbook = other._playbook
            self.phase = other.phase
            self.version += 1

    def to_dict(self) -> dict[str, Any]:
        """The durable form for the session store: :meth:`snapshot` plus ``undo_history``."""
        with self.lock:
            data = self.snapshot()
            data["undo_history"] = self.history.to_dict(self.state())
            return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Canvas:
        """Rebuild a canvas written by :meth:`to_dict`.

        Raises:
            CanvasError: ``INVALID_TOOL_ARGS`` when the stored playbook does not validate.
        """
        try:
            phase = Phase(data.get("phase", Phase.EMPTY))
        except ValueError:
            raise CanvasError(CanvasError.INVALID_TOOL_ARGS, "unknown phase in stored canvas") from None
        canvas = cls(data.get("canvas") or None, phase=phase, version=int(data.get("version", 0)))
        canvas.history = CanvasHistory.from_dict(data.get("undo_history"), canvas.state())
        return canvas

    def summary_for_prompt(self) -> str:
        """A compact description of the canvas for the orchestrator's system prompt.

        Modules are numbered from 1 (as people count); tool arguments are zero-based.
        """
        with self.lock:
            book = self._playbook
            if not book.modules and not book.title:
                lines = [f"Phase: {self.phase.value}. The canvas is empty: there is no playbook yet."]
                return "\n".join(lines + self._person_notes())
            lines = [f'Playbook: "{book.title or "(untitled)"}"']
            if book.description:
                lines.append(f"Description: {_shorten(book.description)}")
            lines.append(f"Phase: {self.phase.value}. Modules: {len(book.modules)}.")
            for number, module in enumerate(book.modules, start=1):
                steps = sum(len(task.steps) for task in module.tasks)
                line = (
                    f"{number}. {module.title} [{module.status.value}; "
                    f"{len(module.tasks)} tasks, {steps} steps]"
                )
                if module.description:
                    line += f" - {_shorten(module.description)}"
                if module.reason:
                    line += f" (reason: {_shorten(module.reason)})"
                lines.append(line)
            return "\n".join(lines + self._person_notes())

    def _person_notes(self) -> list[str]:
        """The person's own changes (direct edits, undo, redo) since the agent's last turn."""
        notes = self.history.notes
        return ["Changed by the person since your last turn: " + "; ".join(notes) + "."] if notes else []

    # ------------------------------------------------------------------------------------------
    # Writing
    # ------------------------------------------------------------------------------------------

    def apply(self, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        """Validate and apply one tool call.

        Args:
            tool: A :class:`~agent_runtime.contract.ToolName` value.
            args: The tool's arguments (zero-based indices).

        Returns:
            A short JSON-able result for the model, e.g. ``{"ok": True, "modules": 6}``.

        Raises:
            CanvasError: On any problem; the canvas and its version are then unchanged.
        """
        return self._apply(tool, args, wire=False)[0]

    def apply_call(self, tool: str, args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """:meth:`apply`, also returning the arguments as validated — stripped, defaults dropped:
        what the browser applies — from the same single validation.

        Raises:
            CanvasError: On any problem; the canvas and its version are then unchanged.
        """
        return self._apply(tool, args, wire=True)

    def _apply(self, tool: str, args: dict[str, Any], *, wire: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        schema = TOOL_ARGS.get(tool) if isinstance(tool, str) else None
        if schema is None:
            raise CanvasError(CanvasError.UNKNOWN_TOOL, f"unknown tool: {str(tool)[:60]!r}")
        if not isinstance(args, dict):
            raise CanvasError(CanvasError.INVALID_TOOL_ARGS, "tool arguments must be a JSON object")
        parsed = _validate(schema, args)
        handler = _HANDLERS.get(ToolName(tool))
        if handler is None:  # undo/redo: not an edit of the canvas (see agent_runtime.history)
            raise CanvasError(CanvasError.UNKNOWN_TOOL, f"{tool} is not a canvas edit")
        # Dumped before the handler runs: it may take the parsed models into the playbook.
        validated = parsed.model_dump(mode="json", exclude_none=True) if wire else {}
        with self.lock:
            return handler(self, parsed), validated

    def set_module_status(self, index: int, status: ModuleStatus, reason: str | None = None) -> None:
        """Set a module's build status (and the reason, for a failure); bumps the version.

        Raises:
            CanvasError: ``NOT_FOUND`` for an index out of range.
        """
        status = ModuleStatus(status)
        if reason is not None:
            reason = reason[: Limits.MAX_DESCRIPTION_CHARS]
        with self.lock:
            self._check_module_index(index)
            module = self._playbook.modules[index]
            module.status = status
            module.reason = reason
            self.version += 1

    def restart_module(self, index: int, reason: str | None = None) -> None:
        """Put a module whose build was cut short back to ``pending``, without its partial tasks.

        Raises:
            CanvasError: ``NOT_FOUND`` for an index out of range.
        """
        with self.lock:
            self._check_module_index(index)
            module = self._playbook.modules[index]
            module.status = ModuleStatus.PENDING
            module.reason = reason[: Limits.MAX_DESCRIPTION_CHARS] if reason else None
            module.tasks = []
            self.version += 1

    def set_phase(self, phase: Phase) -> None:
        """Set the phase; bumps the version when it actually changes."""
        phase = Phase(phase)
        with self.lock:
            if phase != self.phase:
                self.phase = phase
                self.version += 1

    # ------------------------------------------------------------------------------------------
    # Tool handlers: each runs under the lock, checks everything first, then mutates.
    # ------------------------------------------------------------------------------------------

    def _set_playbook_outline(self, args: Any) -> dict[str, Any]:
        modules = [ModuleSpec(title=m.title, description=m.description) for m in args.modules]
        self._playbook = PlaybookSpec(title=args.title, description=args.description, modules=modules)
        self.phase = Phase.OUTLINE
        return self._changed({"ok": True, "modules": len(modules)})

    def _update_playbook(self, args: Any) -> dict[str, Any]:
        if args.title is None and args.description is None:
            raise CanvasError(CanvasError.INVALID_TOOL_ARGS, "give a title, a description or both")
        if args.title is not None:
            self._playbook.title = args.title
        if args.description is not None:
            self._playbook.description = args.description
        return self._changed({"ok": True})

    def _add_module(self, args: Any) -> dict[str, Any]:
        modules = self._playbook.modules
        if len(modules) >= Limits.MAX_MODULES:
            raise CanvasError(CanvasError.LIMIT, f"a playbook has at most {Limits.MAX_MODULES} modules")
        position = len(modules) if args.position is None else min(args.position, len(modules))
        modules.insert(position, ModuleSpec(title=args.title, description=args.description))
        if self.phase == Phase.EMPTY:
            self.phase = Phase.OUTLINE
        return self._changed({"ok": True, "module_index": position, "modules": len(modules)})

    def _update_module(self, args: Any) -> dict[str, Any]:
        self._check_module_index(args.module_index)
        if args.title is None and args.description is None:
            raise CanvasError(CanvasError.INVALID_TOOL_ARGS, "give a title, a description or both")
        module = self._playbook.modules[args.module_index]
        if args.title is not None:
            module.title = args.title
        if args.description is not None:
            module.description = args.description
        return self._changed({"ok": True, "module_index": args.module_index})

    def _remove_module(self, args: Any) -> dict[str, Any]:
        self._check_module_index(args.module_index)
        modules = self._playbook.modules
        removed = modules.pop(args.module_index)
        if not modules:
            self.phase = Phase.EMPTY
        return self._changed({"ok": True, "removed": removed.title, "modules": len(modules)})

    def _move_module(self, args: Any) -> dict[str, Any]:
        self._check_module_index(args.from_index)
        self._check_module_index(args.to_index)
        modules = self._playbook.modules
        modules.insert(args.to_index, modules.pop(args.from_index))
        return self._changed({"ok": True, "module_index": args.to_index})

    def _build_modules(self, args: Any) -> dict[str, Any]:
        modules = self._playbook.modules
        if args.module_indices is None:
            indices = [i for i, m in enumerate(modules) if m.status != ModuleStatus.BUILT]
        else:
            for index in args.module_indices:
                self._check_module_index(index)
            indices = list(dict.fromkeys(args.module_indices))
        if not indices:
            return {"module_indices": [], "message": "nothing to build: every module is built"}
        for index in indices:
            modules[index].status = ModuleStatus.PENDING
            modules[index].reason = None
        self.phase = Phase.BUILDING
        return self._changed({"module_indices": indices})

    def _add_tasks(self, args: Any) -> dict[str, Any]:
        self._check_module_index(args.module_index)
        tasks = self._playbook.modules[args.module_index].tasks
        if len(tasks) + len(args.tasks) > Limits.MAX_TASKS_PER_MODULE:
            raise CanvasError(
                CanvasError.LIMIT,
                f"module {args.module_index} has {len(tasks)} tasks; adding {len(args.tasks)} "
                f"would pass the limit of {Limits.MAX_TASKS_PER_MODULE}",
            )
        start = len(tasks)
        tasks.extend(t.model_copy(deep=True) for t in args.tasks)
        return self._changed({"ok": True, "task_indices": list(range(start, len(tasks)))})

    def _add_task_step(self, args: Any) -> dict[str, Any]:
        steps = self._task(args.module_index, args.task_index).steps
        if len(steps) >= Limits.MAX_STEPS_PER_TASK:
            raise CanvasError(CanvasError.LIMIT, f"a task has at most {Limits.MAX_STEPS_PER_TASK} steps")
        steps.append(args.step.model_copy())
        return self._changed({"ok": True, "step_index": len(steps) - 1})

    def _set_module_tasks(self, args: Any) -> dict[str, Any]:
        self._check_module_index(args.module_index)
        self._playbook.modules[args.module_index].tasks = [t.model_copy(deep=True) for t in args.tasks]
        return self._changed({"ok": True, "tasks": len(args.tasks)})

    def _update_task(self, args: Any) -> dict[str, Any]:
        task = self._task(args.module_index, args.task_index)
        if args.title is None and args.description is None:
            raise CanvasError(CanvasError.INVALID_TOOL_ARGS, "give a title, a description or both")
        if args.title is not None:
            task.title = args.title
        if args.description is not None:
            task.description = args.description
        return self._changed({"ok": True, "module_index": args.module_index, "task_index": args.task_index})

    def _remove_task(self, args: Any) -> dict[str, Any]:
        self._task(args.module_index, args.task_index)
        removed = self._playbook.modules[args.module_index].tasks.pop(args.task_index)
        return self._changed({"ok": True, "removed": removed.title})

    def _suggest_replies(self, args: Any) -> dict[str, Any]:
        return {"ok": True}

    # ------------------------------------------------------------------------------------------

    def _changed(self, result: dict[str, Any]) -> dict[str, Any]:
        self.version += 1
        return result

    def _task(self, module_index: int, task_index: int) -> Any:
        self._check_module_index(module_index)
        tasks = self._playbook.modules[module_index].tasks
        if not 0 <= task_index < len(tasks):
            raise CanvasError(
                CanvasError.NOT_FOUND,
                f"module {module_index} has no task {task_index} (it has {len(tasks)} tasks, zero-based)",
            )
        return tasks[task_index]

    def _check_module_index(self, index: int) -> None:
        count = len(self._playbook.modules)
        if not isinstance(index, int) or not 0 <= index < count:
            raise CanvasError(
                CanvasError.NOT_FOUND,
                f"there is no module {index}: the playbook has {count} modules (zero-based indices)",
            )


_HANDLERS = {
    ToolName.SET_PLAYBOOK_OUTLINE: Canvas._set_playbook_outline,
    ToolName.UPDATE_PLAYBOOK: Canvas._update_playbook,
    ToolName.ADD_MODULE: Canvas._add_module,
    ToolName.UPDATE_MODULE: Canvas._update_module,
    ToolName.REMOVE_MODULE: Canvas._remove_module,
    ToolName.MOVE_MODULE: Canvas._move_module,
    ToolName.BUILD_MODULES: Canvas._build_modules,
    ToolName.ADD_TASKS: Canvas._add_tasks,
    ToolName.ADD_TASK_STEP: Canvas._add_task_step,
    ToolName.SET_MODULE_TASKS: Canvas._set_module_tasks,
    ToolName.SUGGEST_REPLIES: Canvas._suggest_replies,
    ToolName.UPDATE_TASK: Canvas._update_task,
    ToolName.REMOVE_TASK: Canvas._remove_task,
}


def _shorten(text: str, limit: int = _SUMMARY_DESCRIPTION_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
