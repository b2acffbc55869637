"""Parsing chat edits ("rename module 2 to Kickoff and remove the last module") into tool calls.

Edits are applied one by one to a working copy of the outline (:mod:`._working`), so each tool
call's indices are correct for the canvas as the previous calls left it. This module splits the
prompt into clauses, renames the playbook and modules, and plans builds; adding, removing and
moving modules are parsed in :mod:`._module_edits`, task-level edits in :mod:`._items`.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from agent_runtime.contract import Limits, ModuleStatus, ToolName

from ._items import ITEM_PARSERS
from ._module_edits import STRUCTURAL, parse_add, parse_move, parse_remove, parse_swap
from ._refs import NUMBER, PLAYBOOK, RefError
from ._text import clip, new_title
from ._types import call
from ._working import BUSY_MESSAGE, EditPlan, WorkingCanvas

__all__ = ["is_pleasantry", "parse_edits", "split_clauses"]

_VERBS = (
    r"(?:add|insert|include|append|rename|retitle|call|name|change|update|set|remove|delete|drop|cut|"
    r"get rid of|take out|move|put|shift|bump|swap|switch|build|generate|flesh out|fill in|go ahead|"
    r"make|expand|start over)"
)
_CLAUSE_SPLIT = re.compile(
    r"(?:\s*[,;.!]+\s*(?:and\s+|then\s+|also\s+)*|\s+(?:and|then|also)\s+(?:then\s+|also\s+)?)"
    r"(?=(?:please\s+|now\s+|also\s+)?" + _VERBS + r"\b)",
    re.IGNORECASE,
)
_PLEASANTRY = re.compile(
    r"^(?:ok(?:ay)?|great|good|nice|cool|thanks|thank you|perfect|awesome|looks (?:good|great|fine)|"
    r"sounds (?:good|great)|love it|yes|yep|yeah|sure|alright|lgtm|excellent|brilliant|fine|"
    r"that'?s (?:good|great|fine)|this is (?:good|great)|[\s,.!])+$",
    re.IGNORECASE,
)
_BUILD_WORDS = re.compile(
    r"^(?:(?:ok(?:ay)?|yes|great|now|so|please|let'?s|and|then|just|only)\s+)*"
    r"(?:build|generate|flesh out|fill in|fill out|populate|write)\b(?P<rest>.*)$",
    re.IGNORECASE,
)
_GO_AHEAD = re.compile(
    r"^(?:(?:ok(?:ay)?|yes|great|so|please|then)[\s,]+)*(?:go ahead|proceed|do it|let'?s go|let'?s do it|"
    r"ship it|make it so|go for it|start building|start the build)\b.*$",
    re.IGNORECASE,
)
_BUILD_FILLER = re.compile(
    r"\b(?:it|them|this|that|everything|all|the|rest|remaining|whole|thing|playbook|modules|tasks|steps|"
    r"now|please|out|away|for|me|us|of|up|too|as well|go|ahead|only|just|outline|right|straight)\b"
)


def split_clauses(prompt: str) -> list[str]:
    """Split a prompt into one clause per edit (only where the next words start a new edit)."""
    text = " ".join(prompt.split())
    return [c.strip(" ,;.!?") for c in _CLAUSE_SPLIT.split(text) if c and c.strip(" ,;.!?")]


def is_pleasantry(text: str) -> bool:
    """Whether the text is just "ok, looks good!" and the like."""
    return bool(_PLEASANTRY.match(text.strip()))


def parse_edits(prompt: str, state: WorkingCanvas, *, building: bool = False) -> EditPlan:
    """Parse every edit in ``prompt`` and turn it into tool calls, applied to ``state`` as it goes.

    Args:
        prompt: The person's message.
        state: The outline at the start of the turn; mutated to reflect the edits.
        building: Whether modules are being built right now (a new build is then not started).

    Returns:
        The tool calls, the confirmation sentences and anything that could not be done.
    """
    plan = EditPlan()
    clauses = split_clauses(prompt)
    for clause in clauses:
        try:
            handled = _parse_clause(clause, state, plan, building)
        except RefError as exc:
            plan.problems.append(str(exc))
            continue
        if not handled and not is_pleasantry(clause):
            plan.unparsed.append(clause)
    if not plan.calls and not plan.build_requested and len(clauses) <= 1 and is_pleasantry(prompt):
        if any(s != ModuleStatus.BUILT for s in state.statuses) and re.search(
            r"\b(?:looks|sounds) (?:good|great)|perfect|lgtm|yes|love it", prompt, re.IGNORECASE
        ):
            plan.build_requested = True
    if plan.build_requested:
        _plan_build(plan, state, building)
    return plan


def _parse_clause(clause: str, state: WorkingCanvas, plan: EditPlan, building: bool) -> bool:
    parsers = (_rename_playbook, _rename_module, parse_remove, parse_swap, parse_move, _build, parse_add)
    for parser in (*ITEM_PARSERS, *parsers):
        if building and parser in STRUCTURAL:
            # Adding, removing or moving modules under running builders is refused by the runtime:
            # recognise the edit, but explain instead of calling the tool.
            if parser(clause, copy.deepcopy(state), EditPlan()):
                if BUSY_MESSAGE not in plan.problems:
                    plan.problems.append(BUSY_MESSAGE)
                return True
            continue
        if parser(clause, state, plan):
            return True
    return False


def _rename_playbook(clause: str, state: WorkingCanvas, plan: EditPlan) -> bool:
    match = re.match(
        r"^(?:rename|retitle|call|name|title)\s+(?:the\s+|this\s+|our\s+|my\s+)?(?:whole\s+)?(?:playbook|it)\s+"
        r"(?:to\s+|as\s+|into\s+)?(?P<new>.+)$"
        r"|^(?:change|set|update|make)\s+(?:the\s+)?(?:playbook(?:'s)?\s+)?(?:title|name)"
        r"(?:\s+of\s+the\s+playbook)?\s+(?:to\s+|as\s+)(?P<new2>.+)$"
        r"|^the playbook should be (?:called|named|titled)\s+(?P<new3>.+)$",
        clause,
        re.IGNORECASE,
    )
    if match:
        title = new_title(match.group("new") or match.group("new2") or match.group("new3"))
        if title:
            plan.calls.append(call(ToolName.UPDATE_PLAYBOOK.value, title=title))
            plan.messages.append(f"Renamed the playbook to **{title}**.")
            state.title = title
            return True
    match = re.match(
        r"^(?:change|set|update|make)\s+(?:the\s+)?(?:playbook(?:'s)?\s+)?description"
        r"(?:\s+of\s+the\s+playbook)?\s+(?:to\s+|as\s+)(?P<new>.+)$",
        clause,
        re.IGNORECASE,
    )
    if match:
        description = clip(match.group("new").strip().strip("\"'“”"), Limits.MAX_DESCRIPTION_CHARS)
        plan.calls.append(call(ToolName.UPDATE_PLAYBOOK.value, description=description))
        plan.messages.append("Updated the playbook's description.")
        return True
    return False


def _rename_module(clause: str, state: WorkingCanvas, plan: EditPlan) -> bool:
    ref_number = r"(?:\s+" + NUMBER + r")?"
    patterns = (
        r"^(?:rename|retitle)\s+(?P<ref>.+?)\s+(?:to|as|into)\s+(?P<new>.+)$",
        r"^(?:call|name)\s+(?P<ref>(?:the\s+)?(?:[\w&'-]+\s+)*?modules?"
        + ref_number
        + r")\s+(?:to\s+|as\s+)?(?P<new>.+)$",
        r"^(?:change|update|set)\s+(?:the\s+(?:title|name)\s+of\s+)?(?P<ref>.+?)(?:'s)?(?:\s+(?:title|name))?"
        r"\s+to\s+(?P<new>.+)$",
        r"^(?P<ref>.+?)\s+should be (?:called|named|titled|renamed(?: to)?)\s+(?P<new>.+)$",
    )
    for pattern in patterns:
        match = re.match(pattern, clause, re.IGNORECASE)
        if not match:
            continue
        ref = match.group("ref")
        describe = re.search(r"\bdescription\b", ref, re.IGNORECASE)
        ref = re.sub(r"(?:'s)?\s+description$|^(?:the\s+)?description\s+of\s+", "", ref, flags=re.IGNORECASE)
        index = state.resolve(ref, allow_playbook=True)
        if index == PLAYBOOK:
            return False
        if describe:
            description = clip(match.group("new").strip().strip("\"'“”"), Limits.MAX_DESCRIPTION_CHARS)
            plan.calls.append(call(ToolName.UPDATE_MODULE.value, module_index=index, description=description))
            plan.messages.append(f"Updated the description of **{state.titles[index]}**.")
            return True
        title = new_title(match.group("new"))
        if not title:
            return False
        plan.calls.append(call(ToolName.UPDATE_MODULE.value, module_index=index, title=title))
        plan.messages.append(f"Renamed **{state.titles[index]}** to **{title}**.")
        state.titles[index] = title
        return True
    return False


def _build(clause: str, state: WorkingCanvas, plan: EditPlan) -> bool:
    if _GO_AHEAD.match(clause):
        plan.build_requested = True
        return True
    match = _BUILD_WORDS.match(clause)
    if not match:
        return False
    rest = match.group("rest").strip(" ,.!?")
    if re.search(r"\b(?:a|an|new|another)\s+(?!module)\w+.*\b(?:playbook|process|runbook|checklist)\b", rest):
        return False  # "build a new onboarding playbook" is a new outline, not a build
    plan.build_requested = True
    core = " ".join(_BUILD_FILLER.sub(" ", rest.lower()).split())
    if core:
        target = re.sub(r"\b(?:only|just|please|now|first)$", "", rest.strip(), flags=re.IGNORECASE).strip()
        target = re.sub(r"^(?:only|just)\s+", "", target, flags=re.IGNORECASE)
        indices = state.resolve_many(target)
        plan.build = sorted(set((plan.build or []) + indices))
    return True


def _plan_build(plan: EditPlan, state: WorkingCanvas, building: bool) -> None:
    if building:
        if BUSY_MESSAGE not in plan.problems:
            plan.problems.append("The modules are still building — watch them fill in on the canvas.")
        return
    if plan.build is not None:
        indices = plan.build
    else:
        indices = [i for i, s in enumerate(state.statuses) if s != ModuleStatus.BUILT]
    if not indices:
        plan.problems.append(
            "Every module is already built. To rebuild one, say which — for example “build module 2”."
        )
        return
    args: dict[str, Any] = (
        {"module_indices": plan.build} if plan.build is not None else {"module_indices": None}
    )
    plan.calls.append(call(ToolName.BUILD_MODULES.value, **args))
    count = len(indices)
    plan.messages.append(
        f"Building {count} module{'s' * (count != 1)} now — "
        f"watch {'them' if count != 1 else 'it'} fill in on the canvas."
    )
    for index in indices:
        state.statuses[index] = ModuleStatus.PENDING.value
