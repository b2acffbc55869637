"""Which item an edit names — "this", "the selected task", "task 2 of module 1" — and small text helpers.

For the offline planner's item edits (:mod:`._items`). "This", "it" and "the selected module/task"
mean what the person selected on the canvas (``WorkingCanvas.selected``, zero-based as the canvas
was at the start of the turn, followed through the edits made so far in the message).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agent_runtime.contract import ModuleStatus

from ._refs import NUMBER, NUMBERS, ORDINALS, RefError
from ._text import clip, title_case

if TYPE_CHECKING:
    from ._working import WorkingCanvas

__all__ = [
    "DEICTIC",
    "DEICTIC_MODULE",
    "DEICTIC_TASK",
    "busy",
    "busy_text",
    "clean_title",
    "imperative",
    "item_ref",
    "selected_item",
]

DEICTIC = r"(?:this|that|it|here|this one|that one|the selected(?: one| item)?|the selection|the current one)"
DEICTIC_MODULE = r"(?:this|that|the selected|the current)\s+(?:module|section|stage)"
DEICTIC_TASK = r"(?:this|that|the selected|the current)\s+task"
_TASK_NUMBER = r"(?:task\s+#?(?P<n>" + NUMBER + r")|(?P<ord>" + "|".join([*ORDINALS, "last"]) + r")\s+task)"
_OF_MODULE = r"(?:\s+(?:of|in|from|under|on)\s+(?P<mod>.+))?"
_TASK_REF = re.compile(r"^(?:the\s+)?" + _TASK_NUMBER + _OF_MODULE + r"$", re.IGNORECASE)
_MODULE_TASK_REF = re.compile(
    r"^(?:the\s+)?(?P<mod>module\s+#?" + NUMBER + r")(?:'s)?\s+task\s+#?(?P<n>" + NUMBER + r")$",
    re.IGNORECASE,
)
_E_ENDINGS = frozenset(
    "writ mak schedul shar prepar updat creat arrang clos us tak giv sav stor revis issu approv "
    "configur releas archiv remov receiv invit complet compil describ defin measur secur captur "
    "escalat validat rotat".split()
)
_KEEP_DOUBLE = ("ll", "ss", "ff", "zz")


def item_ref(ref: str, state: WorkingCanvas, *, deictic_it: bool = True) -> tuple[int, int | None] | None:
    """The module (and task) ``ref`` names, or ``None`` when it is not an item reference.

    Raises:
        RefError: It names the selection and there is none, or a task that does not exist.
    """
    text = " ".join(ref.lower().strip(" \"'“”.!?").split())
    if re.fullmatch(DEICTIC, text):
        if text == "it" and state.selected is None and not deictic_it:
            return None
        return selected_item(state, module_only=False)
    if re.fullmatch(DEICTIC_MODULE, text):
        return selected_item(state, module_only=True)[0], None
    if re.fullmatch(DEICTIC_TASK, text):
        found = selected_item(state, module_only=False)
        if found[1] is None:
            raise RefError(
                "Select a task on the canvas first (or say which, for example “task 2 of module 1”)."
            )
        return found
    match = _TASK_REF.match(text) or _MODULE_TASK_REF.match(text)
    if match is None:
        return None
    mod_ref = match.groupdict().get("mod")
    if mod_ref:
        inner = item_ref(mod_ref, state)
        module = inner[0] if inner is not None else state.resolve(mod_ref)
    else:
        module = selected_item(state, module_only=True)[0]
    return module, task_index(match, state, module)


def task_index(match: re.Match[str], state: WorkingCanvas, module: int) -> int:
    tasks = state.tasks[module]
    count = len(tasks)
    word = (match.groupdict().get("ord") or "").lower()
    if word == "last":
        number = count
    elif word:
        number = ORDINALS[word]
    else:
        token = match.group("n").lstrip("#").lower()
        number = int(token) if token.isdigit() else NUMBERS[token]
    if not 1 <= number <= count:
        has = f"{count} task{'s' * (count != 1)}" if count else "no tasks yet"
        raise RefError(f"**{state.titles[module]}** has {has} — there's no task {number}.")
    return number - 1


def selected_item(state: WorkingCanvas, *, module_only: bool) -> tuple[int, int | None]:
    """The selection, as it is after the edits so far in this message."""
    chosen = state.selected
    if chosen is None:
        lead = "The selection on the page no longer matches the canvas. " if state.selection_note else ""
        raise RefError(
            f"{lead}Select a module or task on the canvas first, or say which one (for example “module 2”)."
        )
    original = int(chosen["module_index"])
    if original not in state.numbering.origin:
        raise RefError("The selected module was already removed.")
    module = state.numbering.origin.index(original)
    task = chosen.get("task_index")
    if module_only or task is None:
        return module, None
    if not 0 <= int(task) < len(state.tasks[module]):
        raise RefError("The selected task was already removed.")
    return module, int(task)


def busy(state: WorkingCanvas, module: int) -> bool:
    """Whether a running build owns this module's tasks."""
    return state.building and state.statuses[module] in (ModuleStatus.PENDING, ModuleStatus.BUILDING)


def busy_text(state: WorkingCanvas, module: int) -> str:
    return f"**{state.titles[module]}** is being built right now — ask again once its build finishes."


def clean_title(text: str) -> str:
    text = text.strip().strip("\"'“”‘’ .!?")
    text = re.sub(r"\s+(?:please|instead|for me|thanks)$", "", text, flags=re.IGNORECASE).strip("\"'“”‘’ .!?")
    if text == text.lower():
        text = title_case(text)
    return clip(text)


def imperative(what: str) -> str:
    """A step title from "recording the call" → "Record the call"."""
    text = " ".join(what.strip(" \"'“”.!?").split())
    text = re.sub(
        r"^(?:(?:a|an|the)\s+step\s+(?:to|for)\s+|how\s+to\s+|to\s+)", "", text, flags=re.IGNORECASE
    )
    first, _, rest = text.partition(" ")
    lower = first.lower()
    if lower.endswith("ing") and len(lower) > 5:
        base = lower[:-3]
        if base in _E_ENDINGS:
            base += "e"
        elif len(base) > 2 and base[-1] == base[-2] and base[-2:] not in _KEEP_DOUBLE:
            base = base[:-1]
        first = base
    text = f"{first} {rest}".strip()
    return clip(text[:1].upper() + text[1:])
