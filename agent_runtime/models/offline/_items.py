"""Edits of one item — the selected module or task, or "task 2 of module 1" — for the offline planner.

"make this more detailed", "rename this to Kickoff call", "remove this", "add a step about
recording the call", "add a task about …", and the same with a named item ("make module 2 more
detailed", "rename task 2 of module 1 to …", "remove task 2 of module 1"). "This", "it" and "the
selected module/task" mean what the person selected on the canvas (``WorkingCanvas.selected``);
"it" with nothing selected is left to the other parsers (it means the playbook there).

Task edits go through the canvas tools the orchestrator has: ``add_task_step`` and
``set_module_tasks`` (the module's whole task list, to add, rename or remove one task). What "more
detailed" adds is data (``data/edits/detail.yaml``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from agent_runtime import yamltext
from agent_runtime.contract import Limits, ToolName

from ._item_refs import (
    DEICTIC,
    DEICTIC_MODULE,
    DEICTIC_TASK,
    busy,
    busy_text,
    clean_title,
    imperative,
    item_ref,
    selected_item,
)
from ._text import clip, lower_first, significant
from ._types import call
from .builder_plan import module_tasks

if TYPE_CHECKING:
    from ._working import EditPlan, WorkingCanvas

__all__ = ["DETAIL_FILE", "DetailFile", "ITEM_PARSERS", "load_detail"]

DETAIL_FILE = Path(__file__).with_name("data") / "edits" / "detail.yaml"
"""What "more detailed" adds (checked against :class:`DetailFile`)."""

_Step = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=Limits.MAX_TITLE_CHARS)
]


class DetailFile(BaseModel):
    """The schema of ``data/edits/detail.yaml``."""

    model_config = ConfigDict(extra="forbid")

    covers_lead: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    steps: list[_Step] = Field(min_length=2, max_length=20)


@cache
def load_detail(path: Path = DETAIL_FILE) -> DetailFile:
    """Read and check the detail data (once).

    Raises:
        ValueError: The file is not valid YAML or breaks the schema.
    """
    return DetailFile.model_validate(yamltext.safe_load(path.read_text(encoding="utf-8")))


_DETAIL = re.compile(
    r"^(?:please\s+)?(?:make|get)\s+(?P<ref>.+?)\s+(?:a\s+(?:bit|little|lot)\s+|much\s+|even\s+)?more\s+"
    r"(?:detailed|specific|thorough|in-depth|in depth|concrete|complete)(?:\s+please)?$"
    r"|^(?:please\s+)?(?:add|give|put)\s+(?:some\s+|a\s+bit\s+of\s+|a\s+little\s+|a\s+lot\s+of\s+)?(?:more\s+)?"
    r"(?:detail|details|depth)\s+(?:to|on|for|in|into)\s+(?P<ref2>.+)$"
    r"|^(?:please\s+)?(?:expand(?:\s+on)?|elaborate(?:\s+on)?|go\s+deeper\s+(?:on|into)|"
    r"go\s+into\s+more\s+detail\s+(?:on|about))\s+(?P<ref3>.+)$"
    r"|^(?P<bare>(?:please\s+)?(?:add\s+)?more\s+details?(?:\s+please)?|expand|elaborate)$",
    re.IGNORECASE,
)
_RENAME = (
    re.compile(
        r"^(?:rename|retitle|call|name)\s+(?P<ref>.+?)\s+(?:to|as|into)\s+(?P<new>.+)$", re.IGNORECASE
    ),
    re.compile(
        r"^(?:call|name)\s+(?P<ref>"
        + DEICTIC
        + "|"
        + DEICTIC_MODULE
        + "|"
        + DEICTIC_TASK
        + r")\s+(?P<new>.+)$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^(?:change|update|set)\s+(?:the\s+(?:title|name)\s+of\s+)?(?P<ref>.+?)(?:'s)?(?:\s+(?:title|name))?"
        r"\s+to\s+(?P<new>.+)$",
        re.IGNORECASE,
    ),
)
_REMOVE = re.compile(r"^(?:remove|delete|drop|cut|get rid of|take out|scrap)\s+(?P<ref>.+)$", re.IGNORECASE)
_ADD_LEAD = (
    r"^(?:please\s+)?(?:add|insert|include|append|create)\s+"
    r"(?:a|an|one|another|one more|the)?\s*(?:new\s+|extra\s+)?"
)
_ABOUT = r"(?:about|for|on|covering|called|named|titled|that says|to|:|-)"
_PLACE = r"(?:to|in|into|for|under|on)"


def _add_patterns(kind: str) -> tuple[re.Pattern[str], ...]:
    return (
        re.compile(
            _ADD_LEAD + kind + r"\s+" + _PLACE + r"\s+(?P<ref>.+?)\s+" + _ABOUT + r"\s+(?P<what>.+)$",
            re.IGNORECASE,
        ),
        re.compile(
            _ADD_LEAD
            + kind
            + r"\s+"
            + _ABOUT
            + r"?\s*(?P<what>.+?)(?:\s+"
            + _PLACE
            + r"\s+(?P<ref>"
            + DEICTIC
            + "|"
            + DEICTIC_MODULE
            + "|"
            + DEICTIC_TASK
            + r"|(?:the\s+)?task\s+\S+(?:\s+of\s+module\s+\S+)?"
            r"|(?:the\s+)?module\s+\S+))?$",
            re.IGNORECASE,
        ),
    )


_ADD_STEP = _add_patterns(r"step")
_ADD_TASK = _add_patterns(r"task")


def _set_tasks(plan: EditPlan, state: WorkingCanvas, module: int, tasks: list[dict[str, Any]]) -> None:
    state.tasks[module] = tasks
    plan.calls.append(call(ToolName.SET_MODULE_TASKS.value, module_index=module, tasks=copy.deepcopy(tasks)))


def _add_step_call(plan: EditPlan, state: WorkingCanvas, module: int, task: int, title: str) -> bool:
    steps = state.tasks[module][task].setdefault("steps", [])
    if len(steps) >= Limits.MAX_STEPS_PER_TASK:
        return False
    step = {"title": clip(title), "description": ""}
    steps.append(step)
    plan.calls.append(call(ToolName.ADD_TASK_STEP.value, module_index=module, task_index=task, step=step))
    return True


def _new_detail_steps(task: dict[str, Any], count: int) -> list[str]:
    have = {str(s.get("title", "")).lower() for s in task.get("steps") or []}
    return [s for s in load_detail().steps if s.lower() not in have][:count]


def _more_detail(clause: str, state: WorkingCanvas, plan: EditPlan) -> bool:
    match = _DETAIL.match(clause)
    if match is None:
        return False
    ref = "this" if match.group("bare") else match.group("ref") or match.group("ref2") or match.group("ref3")
    found = item_ref(ref, state)
    if found is None:
        found = (state.resolve(ref), None)
    module, task = found
    if busy(state, module):
        plan.problems.append(busy_text(state, module))
        return True
    title = state.titles[module]
    if task is not None:
        name = state.tasks[module][task].get("title", "")
        added = [
            s
            for s in _new_detail_steps(state.tasks[module][task], 2)
            if _add_step_call(plan, state, module, task, s)
        ]
        if not added:
            plan.problems.append(f"**{name}** already has all the steps I can add.")
            return True
        plan.messages.append(
            f"Added {len(added)} step{'s' * (len(added) != 1)} to **{name}** (module {module + 1}): "
            + "; ".join(lower_first(s) for s in added)
            + "."
        )
        return True
    tasks = state.tasks[module]
    if tasks:
        added_to = 0
        for index, item in enumerate(tasks):
            steps = _new_detail_steps(item, 1)
            if steps and _add_step_call(plan, state, module, index, steps[0]):
                added_to += 1
        if not added_to:
            plan.problems.append(f"The tasks of **{title}** already have all the steps I can add.")
            return True
        plan.messages.append(f"Made **{title}** more detailed: a step more in each of its {added_to} tasks.")
        return True
    lead = load_detail().covers_lead
    description = state.descriptions[module]
    if lead.lower() in description.lower():
        plan.problems.append(
            f"**{title}** already lists what it covers — say **build module {module + 1}** to fill in its "
            "tasks and steps."
        )
        return True
    planned = module_tasks(title, description, state.title)
    covers = f"{lead} " + "; ".join(lower_first(t.title) for t in planned) + "."
    detailed = clip(f"{description} {covers}".strip(), Limits.MAX_DESCRIPTION_CHARS)
    state.descriptions[module] = detailed
    plan.calls.append(call(ToolName.UPDATE_MODULE.value, module_index=module, description=detailed))
    plan.messages.append(f"Made **{title}** more detailed: its description now says what it covers.")
    return True


def _rename_item(clause: str, state: WorkingCanvas, plan: EditPlan) -> bool:
    for pattern in _RENAME:
        match = pattern.match(clause)
        if match is None:
            continue
        found = item_ref(match.group("ref"), state, deictic_it=False)
        if found is None:
            return False
        new = clean_title(match.group("new"))
        if not new:
            return False
        module, task = found
        if task is None:
            old = state.titles[module]
            state.titles[module] = new
            plan.calls.append(call(ToolName.UPDATE_MODULE.value, module_index=module, title=new))
            plan.messages.append(f"Renamed **{old}** to **{new}**.")
            return True
        if busy(state, module):
            plan.problems.append(busy_text(state, module))
            return True
        tasks = copy.deepcopy(state.tasks[module])
        old = tasks[task].get("title", "")
        tasks[task]["title"] = new
        _set_tasks(plan, state, module, tasks)
        plan.messages.append(f"Renamed the task **{old}** (module {module + 1}) to **{new}**.")
        return True
    return False


def _remove_item(clause: str, state: WorkingCanvas, plan: EditPlan) -> bool:
    match = _REMOVE.match(clause)
    if match is None:
        return False
    found = item_ref(match.group("ref"), state, deictic_it=False)
    if found is None:
        return False
    module, task = found
    if task is None:
        if state.building:
            from ._working import BUSY_MESSAGE

            plan.problems.append(BUSY_MESSAGE)
            return True
        title = state.pop(module)
        plan.calls.append(call(ToolName.REMOVE_MODULE.value, module_index=module))
        plan.messages.append(f"Removed **{title}**.")
        return True
    if busy(state, module):
        plan.problems.append(busy_text(state, module))
        return True
    tasks = copy.deepcopy(state.tasks[module])
    if len(tasks) == 1:
        plan.problems.append(
            f"**{tasks[0].get('title', '')}** is the only task of **{state.titles[module]}**, and a "
            f"module keeps at least one — say “remove module {module + 1}” to remove the whole module."
        )
        return True
    removed = tasks.pop(task)
    _set_tasks(plan, state, module, tasks)
    plan.messages.append(f"Removed the task **{removed.get('title', '')}** from **{state.titles[module]}**.")
    return True


def _target_for_add(match: re.Match[str], state: WorkingCanvas) -> tuple[int, int | None] | None:
    ref = match.group("ref")
    if ref:
        found = item_ref(ref, state)
        return found if found is not None else (state.resolve(ref), None)
    if state.selected is None:
        return None
    return selected_item(state, module_only=False)


def _add_step(clause: str, state: WorkingCanvas, plan: EditPlan) -> bool:
    match = next((m for m in (p.match(clause) for p in _ADD_STEP) if m), None)
    if match is None:
        return False
    found = _target_for_add(match, state)
    if found is None:
        if any(state.tasks):
            plan.problems.append(
                "Which task should get the step? Select it on the canvas, or say “add a step to task 2 of "
                "module 3 about …”."
            )
            return True
        return False
    module, task = found
    if busy(state, module):
        plan.problems.append(busy_text(state, module))
        return True
    tasks = state.tasks[module]
    if not tasks:
        plan.problems.append(
            f"**{state.titles[module]}** has no tasks yet — say **build module {module + 1}** first, "
            "then add steps."
        )
        return True
    step = imperative(match.group("what"))
    if task is None:
        task = _best_task(tasks, step)
    name = tasks[task].get("title", "")
    if not _add_step_call(plan, state, module, task, step):
        plan.problems.append(
            f"**{name}** already has {Limits.MAX_STEPS_PER_TASK} steps, the most a task can have."
        )
        return True
    plan.messages.append(f"Added the step **{step}** to **{name}** (module {module + 1}).")
    return True


def _best_task(tasks: list[dict[str, Any]], text: str) -> int:
    """The task whose words overlap ``text`` most (the last one when none does)."""
    wanted = significant(text)
    scores = [
        len(
            wanted
            & significant(
                " ".join([str(t.get("title", ""))] + [str(s.get("title", "")) for s in t.get("steps") or []])
            )
        )
        for t in tasks
    ]
    best = max(scores)
    return scores.index(best) if best else len(tasks) - 1


def _add_task(clause: str, state: WorkingCanvas, plan: EditPlan) -> bool:
    match = next((m for m in (p.match(clause) for p in _ADD_TASK) if m), None)
    if match is None:
        return False
    found = _target_for_add(match, state)
    if found is None:
        return False
    module = found[0]
    if busy(state, module):
        plan.problems.append(busy_text(state, module))
        return True
    title = clean_title(imperative(match.group("what")))
    tasks = state.tasks[module]
    if len(tasks) >= Limits.MAX_TASKS_PER_MODULE:
        plan.problems.append(
            f"**{state.titles[module]}** already has {Limits.MAX_TASKS_PER_MODULE} tasks, "
            "the most a module can have."
        )
        return True
    _set_tasks(plan, state, module, [*copy.deepcopy(tasks), {"title": title, "description": "", "steps": []}])
    plan.messages.append(f"Added the task **{title}** to **{state.titles[module]}**.")
    return True


ITEM_PARSERS: tuple[Callable[[str, WorkingCanvas, EditPlan], bool], ...] = (
    _more_detail,
    _rename_item,
    _remove_item,
    _add_step,
    _add_task,
)
"""Tried before the module-level parsers (:mod:`._edits`, :mod:`._module_edits`); each says if it took it."""
