"""The offline builder's answer to a self-check, and the flawed first draft tests can ask for.

:func:`repair_replies` answers a repair prompt (it starts with :data:`REPAIR_MARKER` and ends with
the module as JSON) with one ``set_module_tasks`` call carrying mechanically fixed tasks:
duplicate and placeholder titles dropped, missing steps added, steps that are not actions turned
into actions, a short module padded with a review task, and the module's topic named in the
first task when no task mentions it. :func:`flawed_first_draft` makes a builder's first
``add_tasks`` repeat its first task (``OFFLINE_MODEL_FLAWS=builder_first_draft``), so a demo or a
test sees the check fail and the repair succeed.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from agent_runtime import messages as conv
from agent_runtime.contract import Limits, ToolName

from ._text import clip, lower_first
from ._types import Reply, ToolCall, call

__all__ = ["FLAW_BUILDER_FIRST_DRAFT", "REPAIR_MARKER", "flawed_first_draft", "repair_replies"]

REPAIR_MARKER = "Self-check of module_index"
FLAW_BUILDER_FIRST_DRAFT = "builder_first_draft"
_PLACEHOLDERS = frozenset(
    {"", "tbd", "todo", "tbc", "n/a", "na", "none", "untitled", "placeholder", "...", "-"}
)
_NON_ACTION = frozenset(
    "a an the this that these those it its there we they our my your their step task tbd todo maybe "
    "possibly optional should could would might some all any each every".split()
)
_WORD = re.compile(r"[a-z0-9]+")


def _key(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _action(title: str) -> str:
    words = _WORD.findall(title.lower())
    first = words[0] if words else ""
    if (
        first
        and first not in _NON_ACTION
        and not first.endswith(("tion", "ness", "ity"))
        and not first.isdigit()
    ):
        return title
    return clip(f"Confirm {lower_first(title.strip())}")


def fix_tasks(module: dict[str, Any]) -> list[dict[str, Any]]:
    """The module's tasks, mechanically fixed (see the module docstring)."""
    tasks: list[dict[str, Any]] = []
    seen: set[str] = set()
    for task in module.get("tasks") or []:
        key = _key(task.get("title", ""))
        if key in _PLACEHOLDERS or key in seen:
            continue
        seen.add(key)
        steps: list[dict[str, Any]] = []
        seen_steps: set[str] = set()
        for step in task.get("steps") or []:
            step_key = _key(step.get("title", ""))
            if step_key in _PLACEHOLDERS or step_key in seen_steps:
                continue
            seen_steps.add(step_key)
            steps.append({"title": _action(step["title"]), "description": step.get("description", "")})
        if not steps:
            steps = [{"title": clip(f"Complete {lower_first(task['title'])}"), "description": ""}]
        tasks.append({"title": task["title"], "description": task.get("description", ""), "steps": steps})
    title = str(module.get("title") or "the module")
    if len(tasks) < 2:
        tasks.append(
            {
                "title": clip(f"Check the outcome of {title}"),
                "description": "Check the module's outcome against its goal.",
                "steps": [
                    {"title": "Check the results against the goal", "description": ""},
                    {"title": "Record what to improve next time", "description": ""},
                ],
            }
        )
    topic = f"{title}: {module.get('description') or ''}".strip(" :")
    first = tasks[0]
    if topic and topic.lower() not in (first.get("description") or "").lower():
        first["description"] = clip(
            f"{first.get('description') or ''} Part of {topic}".strip(), Limits.MAX_DESCRIPTION_CHARS
        )
    return tasks[: Limits.MAX_TASKS_PER_MODULE]


def repair_replies(prompt: str) -> list[Reply] | None:
    """The replies to a self-check repair prompt (``None`` when ``prompt`` is not one)."""
    if not prompt.startswith(REPAIR_MARKER):
        return None
    context = conv.parse_context(prompt)
    module = context.get("module")
    if not isinstance(module, dict):
        return [Reply("I could not read the module to repair.", ())]
    index = int(context.get("module_index", 0))
    return [
        Reply(None, (call(ToolName.SET_MODULE_TASKS.value, module_index=index, tasks=fix_tasks(module)),)),
        Reply("Fixed what the self-check found.", ()),
    ]


def flawed_first_draft(replies: list[Reply]) -> list[Reply]:
    """The builder's replies with its first ``add_tasks`` repeating its first task (a duplicate title)."""
    out: list[Reply] = []
    done = False
    for reply in replies:
        calls: list[ToolCall] = []
        for tool_call in reply.tool_calls:
            tasks = tool_call.args.get("tasks") if tool_call.name == ToolName.ADD_TASKS.value else None
            if not done and tasks and len(tasks) < Limits.MAX_TASKS_PER_MODULE:
                tool_call = ToolCall(tool_call.name, {**tool_call.args, "tasks": [*tasks, dict(tasks[0])]})
                done = True
            calls.append(tool_call)
        out.append(replace(reply, tool_calls=tuple(calls)))
    return out
