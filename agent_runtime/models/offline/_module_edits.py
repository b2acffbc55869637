"""Parsing the chat edits that add, remove, swap and move whole modules into tool calls.

Each parser takes one clause, applies what it asks to the :class:`~._working.WorkingCanvas`, and
records the tool calls and confirmations in the :class:`~._working.EditPlan`; it returns whether it
took the clause. These are the edits refused while modules are being built (:data:`STRUCTURAL`).
"""

from __future__ import annotations

import re
from typing import Any

from agent_runtime.contract import Limits, ToolName

from ._refs import NUMBER, ORDINALS, RefError, resolve
from ._text import new_title
from ._types import call
from ._working import EditPlan, WorkingCanvas
from .builder_plan import describe_module

__all__ = ["STRUCTURAL", "parse_add", "parse_move", "parse_remove", "parse_swap"]

_ADD_LEAD = re.compile(
    r"^(?:a|an|another|one more|the|some)?\s*(?:new\s+|extra\s+|additional\s+|separate\s+|final\s+)?"
    r"(?:module|section|stage|phase|part)s?\b\s*"
    r"(?:(?:about|for|on|covering|called|named|titled|to cover|that covers|which covers|focused on|"
    r"focusing on|around|regarding|dealing with|to handle|for handling|:|-)\s+)?",
    re.IGNORECASE,
)
_ADD_TAIL = re.compile(r"\s+(?:module|section|stage|phase)$", re.IGNORECASE)
_ARTICLE = re.compile(r"^(?:a|an|the|some|our)\s+", re.IGNORECASE)
_SPOT = r"(?:\s+(?:position|place|slot|spot))?"
_MOVE = re.compile(
    r"^(?:move|put|shift|bump)\s+(?P<ref>.+?)\s+(?P<dest>"
    r"(?:to\s+|into\s+|at\s+)?(?:the\s+)?(?:very\s+)?(?:first|last|top|bottom|start|beginning|front|end)"
    + _SPOT
    + r"(?:\s+of the (?:list|playbook|outline))?"
    r"|up(?:\s+(?:one|1|by one|a (?:spot|place)))?|down(?:\s+(?:one|1|by one|a (?:spot|place)))?"
    r"|(?:to\s+)?(?:the\s+)?(?:position|place|slot|spot|number|#)\s*"
    + NUMBER
    + r"|to\s+(?:the\s+)?(?:"
    + "|".join(ORDINALS)
    + r"|\d+(?:st|nd|rd|th))"
    + _SPOT
    + r"|(?:to\s+)?(?:right\s+|just\s+|directly\s+)?(?:after|before|above|below|behind|ahead of)\s+.+"
    r")$",
    re.IGNORECASE,
)
_REL = re.compile(
    r"\s+(?:right\s+|just\s+|directly\s+)?(?P<rel>after|before|above|below|behind|ahead of)\s+"
    r"(?=(?P<ref>.+)$)",
    re.IGNORECASE,
)


def parse_remove(clause: str, state: WorkingCanvas, plan: EditPlan) -> bool:
    match = re.match(
        r"^(?:remove|delete|drop|cut|get rid of|take out|scrap)\s+(?P<ref>.+)$", clause, re.IGNORECASE
    )
    if not match:
        return False
    ref = match.group("ref")
    if re.search(r"\b(?:task|tasks|step|steps)\b", ref, re.IGNORECASE):
        plan.problems.append(
            "I can only remove whole modules here; tasks and steps are edited on the canvas."
        )
        return True
    indices = state.resolve_many(ref)
    for index in sorted(indices, reverse=True):
        title = state.pop(index)
        plan.calls.append(call(ToolName.REMOVE_MODULE.value, module_index=index))
        plan.messages.append(f"Removed **{title}**.")
    return bool(indices)


def parse_swap(clause: str, state: WorkingCanvas, plan: EditPlan) -> bool:
    match = re.match(r"^(?:swap|switch|exchange)\s+(?P<a>.+?)\s+(?:and|with)\s+(?P<b>.+)$", clause, re.I)
    if not match:
        return False
    ref_b = match.group("b")
    if re.fullmatch(r"\s*#?\d+\s*", ref_b):
        ref_b = f"module {ref_b.strip()}"
    first, second = sorted((state.resolve(match.group("a")), state.resolve(ref_b)))
    if first == second:
        return False
    names = (state.titles[first], state.titles[second])
    for source, target in ((first, second), (second - 1, first)):
        if source == target:
            continue
        state.move(source, target)
        plan.calls.append(call(ToolName.MOVE_MODULE.value, from_index=source, to_index=target))
    plan.messages.append(f"Swapped **{names[0]}** and **{names[1]}**.")
    return True


def parse_move(clause: str, state: WorkingCanvas, plan: EditPlan) -> bool:
    match = _MOVE.match(clause)
    if not match:
        return False
    source = state.resolve(match.group("ref"))
    count = len(state.titles)
    dest = match.group("dest").lower()
    dest = re.sub(r"^(?:to|into|at)\s+", "", dest)
    relative = re.match(
        r"^(?:right\s+|just\s+|directly\s+)?(after|before|above|below|behind|ahead of)\s+(.+)$", dest
    )
    if relative:
        anchor = state.resolve(relative.group(2))
        after = relative.group(1) in ("after", "below", "behind")
        if anchor == source:
            target = source
        elif source < anchor:
            target = anchor if after else anchor - 1
        else:
            target = anchor + 1 if after else anchor
    elif dest.startswith("up"):
        target = max(0, source - 1)
    elif dest.startswith("down"):
        target = min(count - 1, source + 1)
    elif re.search(r"\b(?:first|top|start|beginning|front)\b", dest) and not re.search(r"\d", dest):
        target = 0
    elif re.search(r"\b(?:last|bottom|end)\b", dest):
        target = count - 1
    else:
        number = re.search(
            r"(\d+|"
            + "|".join(
                [*ORDINALS, "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
            )
            + r")",
            dest,
        )
        if not number:
            return False
        target = resolve(number.group(1), state.titles, allow_playbook=False)
    title = state.titles[source]
    if target == source:
        plan.messages.append(f"**{title}** is already at position {source + 1}.")
        return True
    state.move(source, target)
    plan.calls.append(call(ToolName.MOVE_MODULE.value, from_index=source, to_index=target))
    plan.messages.append(f"Moved **{title}** to position {target + 1}.")
    return True


def parse_add(clause: str, state: WorkingCanvas, plan: EditPlan) -> bool:
    match = re.match(r"^(?:add|insert|include|append|create|make)\s+(?P<body>.+)$", clause, re.IGNORECASE)
    if not match:
        return False
    body = match.group("body").strip()
    if re.match(
        r"^(?:a|an|another|some|more|new|the)?\s*(?:new\s+)?(?:tasks?|steps?)\b", body, re.IGNORECASE
    ):
        plan.problems.append(
            "Tasks and steps are written when a module is built — say “build module 2” to fill one in."
        )
        return True
    if re.search(r"\b(?:playbook|runbook)\b", body, re.IGNORECASE) and not re.search(r"\bmodule", body, re.I):
        return False
    position, body = _add_position(body, state)
    title = _ADD_TAIL.sub("", _ADD_LEAD.sub("", body)).strip(" .!?\"'")
    title = _ARTICLE.sub("", title)
    title = new_title(title)
    if not title:
        plan.problems.append("What should the new module be about?")
        return True
    if len(state.titles) >= Limits.MAX_MODULES:
        plan.problems.append(
            f"A playbook can have at most {Limits.MAX_MODULES} modules, so I didn't add **{title}**."
        )
        return True
    if title.lower() in (t.lower() for t in state.titles):
        plan.problems.append(f"There's already a module called **{title}**.")
        return True
    args: dict[str, Any] = {"title": title, "description": describe_module(title)}
    at = len(state.titles) if position is None else position
    if position is not None:
        args["position"] = position
    state.insert(at, title)
    plan.calls.append(call(ToolName.ADD_MODULE.value, **args))
    plan.messages.append(f"Added **{title}** as module {at + 1}.")
    return True


def _add_position(body: str, state: WorkingCanvas) -> tuple[int | None, str]:
    """Find "after module 2", "at the start", "as the first module" … at the end of an add clause."""
    for match in reversed(list(_REL.finditer(body))):
        try:
            anchor = state.resolve(match.group("ref"))
        except RefError:
            continue
        after = match.group("rel").lower() in ("after", "below", "behind")
        return anchor + 1 if after else anchor, body[: match.start()]
    count = len(state.titles)
    for pattern, where in (
        (r"\s+(?:at|to)\s+(?:the\s+)?(?:very\s+)?(?:start|beginning|top|front)(?:\s+of\s+the\s+\w+)?$", 0),
        (r"\s+(?:at|to)\s+(?:the\s+)?(?:very\s+)?(?:end|bottom)(?:\s+of\s+the\s+\w+)?$", None),
        (r"\s+(?:as\s+(?:the\s+)?)?first(?:\s+module)?$", 0),
        (r"\s+(?:as\s+(?:the\s+)?)?last(?:\s+module)?$", None),
    ):
        found = re.search(pattern, body, re.IGNORECASE)
        if found:
            return where, body[: found.start()]
    found = re.search(r"\s+(?:at|in|as)\s+(?:position|module|number|#)\s*(?P<n>\d+)$", body, re.IGNORECASE)
    if found:
        return min(max(int(found.group("n")) - 1, 0), count), body[: found.start()]
    return None, body


STRUCTURAL = (parse_remove, parse_swap, parse_move, parse_add)
