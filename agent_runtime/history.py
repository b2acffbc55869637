"""A canvas's undo and redo: its recent versions, kept as JSON patches between them.

A *state* is what undo restores: ``{"phase": ..., "canvas": <PlaybookSpec in JSON mode>}`` — the
version is not part of it (undo and redo make new versions, so it only grows). The history keeps

* the **tip**: the state right after the last recorded step (or undo/redo);
* the **undo** stack: per step, the RFC 6902 patch that turns the state after it into the state
  before it, and a short label ("chat", "edit", "build");
* the **redo** stack: per undone step, the patch that re-applies it.

A step is recorded by :meth:`CanvasHistory.commit` at the end of a chat turn (when no build runs),
of a build, and of an ``edit``: everything that changed since the tip becomes one step, so one
undo takes back one turn's changes, one edit request, or one whole build. Changes made outside
those points (a build cut short by a restart and settled) join the next step; :meth:`undo` first
records whatever is pending, so "the last change" is always what the person last saw change.

Patches (``jsonpatch``, the reference RFC 6902 library for Python) are checked when made: one that
does not reproduce its target exactly is replaced by a whole-state replacement, so a restore is
always exact. A target of at most :data:`WHOLE_STATE_BYTES` (an empty or nearly empty canvas — what
every session's first turn undoes to) is stored whole straight away: no bigger than a patch, exact
by construction, and without the diff (most of a first turn's history cost).

Bounded by :attr:`~agent_runtime.contract.Limits.MAX_UNDO_STEPS` steps and :data:`MAX_HISTORY_BYTES`
of patches (the oldest go first). Durable as :meth:`to_dict` inside the session's stored canvas.
Pure code: no strands, no I/O; callers hold the canvas lock.
"""

from __future__ import annotations

import copy
import json
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

import jsonpatch
import orjson

from agent_runtime.contract import ErrorCode, Limits
from agent_runtime.errors import AgentRuntimeError

__all__ = ["CanvasHistory", "HistoryError", "MAX_HISTORY_BYTES", "WHOLE_STATE_BYTES"]

logger = logging.getLogger(__name__)

MAX_NOTES = 10
"""The person's own changes kept for the agent's next turn (the most recent ones)."""
MAX_HISTORY_BYTES = 2 * 1024 * 1024
"""The patches a history keeps, undo and redo together (JSON bytes); the oldest undo steps go first."""
WHOLE_STATE_BYTES = 1024
"""A target state whose JSON is at most this long is stored as a whole replacement, not diffed."""
_FORMAT = 1
_PATCH_ERRORS = (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException)

State = dict[str, Any]


def _size(value: Any) -> int:
    """Its JSON's length in bytes (compact, UTF-8)."""
    try:
        return len(orjson.dumps(value))
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits
        return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def _copy(state: Any) -> Any:
    """An independent copy of JSON data: an ``orjson`` round trip (several times faster than
    ``copy.deepcopy``; exact for JSON), ``deepcopy`` for anything ``orjson`` refuses."""
    try:
        return orjson.loads(orjson.dumps(state))
    except orjson.JSONEncodeError:
        return copy.deepcopy(state)


class HistoryError(AgentRuntimeError):
    """Undo or redo is not possible: ``NOTHING_TO_UNDO`` or ``NOTHING_TO_REDO``."""


@dataclass(frozen=True)
class _Step:
    patch: list[dict[str, Any]]
    label: str
    size: int

    @classmethod
    def of(cls, patch: list[dict[str, Any]], label: str) -> _Step:
        return cls(patch, label[:80], _size(patch))

    def to_dict(self) -> dict[str, Any]:
        return {"patch": self.patch, "label": self.label}


def _whole(target: State) -> list[dict[str, Any]]:
    """The patch replacing any state by ``target`` (a copy of it)."""
    return [{"op": "replace", "path": "", "value": _copy(target)}]


def _patch(source: State, target: State) -> list[dict[str, Any]]:
    """The patch turning ``source`` into ``target``, checked (whole replacement as the fallback).

    A small target is replaced whole without diffing (see :data:`WHOLE_STATE_BYTES`).
    """
    if _size(target) <= WHOLE_STATE_BYTES:
        return _whole(target)
    ops: list[dict[str, Any]] = list(jsonpatch.make_patch(source, target).patch)
    try:
        exact = jsonpatch.apply_patch(source, ops) == target
    except _PATCH_ERRORS:
        exact = False
    if exact:
        return ops
    logger.warning("ops=<%d> | a history patch did not reproduce its target; storing the whole", len(ops))
    return _whole(target)


def _apply(state: State, patch: list[dict[str, Any]]) -> State:
    result = jsonpatch.apply_patch(state, patch)  # a copy: ``state`` is untouched
    return result if isinstance(result, dict) else {}


class CanvasHistory:
    """The undo/redo history of one canvas (see the module docstring)."""

    def __init__(
        self,
        tip: State,
        *,
        max_steps: int = Limits.MAX_UNDO_STEPS,
        max_bytes: int = MAX_HISTORY_BYTES,
    ) -> None:
        """An empty history whose tip is ``tip`` (the canvas's current state)."""
        self._tip = _copy(tip)
        self._undo: deque[_Step] = deque()
        self._redo: list[_Step] = []
        self._max_steps = max_steps
        self._max_bytes = max_bytes
        self.notes: list[str] = []
        """What the person changed by hand (edits, undo, redo) since the agent's last turn."""

    # ------------------------------------------------------------------ reading

    @property
    def undo_steps(self) -> int:
        """Recorded steps that can be undone (pending changes not counted)."""
        return len(self._undo)

    @property
    def redo_steps(self) -> int:
        """Undone steps that can be redone."""
        return len(self._redo)

    def flags(self, state: State) -> dict[str, bool]:
        """``{"can_undo", "can_redo"}`` for the canvas in ``state`` (the snapshot's ``history``)."""
        pending = state != self._tip
        return {"can_undo": bool(self._undo) or pending, "can_redo": bool(self._redo) and not pending}

    # ------------------------------------------------------------------ writing

    def commit(self, state: State, label: str) -> bool:
        """Record everything that changed since the tip as one step; ``False`` when nothing did.

        A new step ends what could be redone.
        """
        if state == self._tip:
            return False
        self._undo.append(_Step.of(_patch(state, self._tip), label))
        self._redo.clear()
        self._tip = _copy(state)
        self._trim()
        return True

    def undo(self, state: State) -> tuple[State, str]:
        """The state before the last change (pending changes are recorded first), and its label.

        Raises:
            HistoryError: ``NOTHING_TO_UNDO``.
        """
        self.commit(state, "changes")
        if not self._undo:
            raise HistoryError("there is nothing to undo", ErrorCode.NOTHING_TO_UNDO)
        step = self._undo.pop()
        before = _apply(self._tip, step.patch)
        self._redo.append(_Step.of(_patch(before, self._tip), step.label))
        self._tip = before
        self._trim()
        return _copy(before), step.label

    def redo(self, state: State) -> tuple[State, str]:
        """The state after the last undone change, and its label.

        A change made since that undo (pending, or recorded) ends what could be redone.

        Raises:
            HistoryError: ``NOTHING_TO_REDO``.
        """
        self.commit(state, "changes")
        if not self._redo:
            raise HistoryError("there is nothing to redo", ErrorCode.NOTHING_TO_REDO)
        step = self._redo.pop()
        after = _apply(self._tip, step.patch)
        self._undo.append(_Step.of(_patch(after, self._tip), step.label))
        self._tip = after
        self._trim()
        return _copy(after), step.label

    def note(self, text: str) -> None:
        """Remember a change the person made by hand, for the agent's next turn."""
        self.notes = [*self.notes, text[:300]][-MAX_NOTES:]

    def _trim(self) -> None:
        while len(self._undo) > self._max_steps:
            self._undo.popleft()
        del self._redo[: max(0, len(self._redo) - self._max_steps)]
        total = sum(s.size for s in self._undo) + sum(s.size for s in self._redo)
        while total > self._max_bytes and self._undo:
            total -= self._undo.popleft().size
        while total > self._max_bytes and self._redo:
            total -= self._redo.pop(0).size

    # ------------------------------------------------------------------ durable form

    def to_dict(self, state: State) -> dict[str, Any]:
        """The durable form, for the canvas in ``state`` (the tip is stored as a patch from it)."""
        return {
            "format": _FORMAT,
            "undo": [s.to_dict() for s in self._undo],
            "redo": [s.to_dict() for s in self._redo],
            "tip": [] if state == self._tip else _patch(state, self._tip),
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Any, state: State) -> CanvasHistory:
        """Rebuild a history written by :meth:`to_dict` for the canvas in ``state``.

        Anything unreadable gives an empty history (the canvas itself is never at risk).
        """
        history = cls(state)
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            return history
        try:
            tip = data.get("tip") or []
            history._tip = _apply(state, tip) if tip else _copy(state)
            history._undo = deque(_Step.of(list(s["patch"]), str(s.get("label", ""))) for s in data["undo"])
            history._redo = [_Step.of(list(s["patch"]), str(s.get("label", ""))) for s in data["redo"]]
            history.notes = [str(n)[:300] for n in data.get("notes") or []][-MAX_NOTES:]
        except (KeyError, TypeError, ValueError, *_PATCH_ERRORS):
            logger.warning("the stored undo history is unreadable; starting an empty one")
            return cls(state)
        history._trim()
        return history
