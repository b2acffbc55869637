"""Parsing chat edits ("rename module 2 to Kickoff and remove the last module") into tool calls.

Edits are applied one by one to a working copy of the outline, so each tool call's indices are
correct for the canvas as the previous calls left it.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from agent_runtime.contract import Limits, ModuleStatus, ToolName

from ._refs import NUMBER, ORDINALS, PLAYBOOK, Numbering, RefError, resolve, resolve_many
from ._text import clip, title_case
from ._types import ToolCall, call
from .builder_plan import describe_module

__all__ = ["BUSY_MESSAGE", "EditPlan", "WorkingCanvas", "is_pleasantry", "parse_edits", "split_clauses"]

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
    from ._items import ITEM_PARSERS  # (they use WorkingCanvas and EditPlan from here)

    for parser in (*ITEM_PARSERS, _rename_playbook, _rename_module, _remove, _swap, _move, _build, _add):
        if building and parser in _STRUCTURAL:
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


def _new_title(text: str) -> str:
    text = text.strip().strip("\"'“”‘’ .!?")
    text = re.sub(r"\s+(?:please|instead|for me|thanks)$", "", text, flags=re.IGNORECASE).strip("\"'“”‘’ .!?")
    if text == text.lower():
        text = title_case(text)
    return clip(text)


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
        title = _new_title(match.group("new") or match.group("new2") or match.group("new3"))
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
        title = _new_title(match.group("new"))
        if not title:
            return False
        plan.calls.append(call(ToolName.UPDATE_MODULE.value, module_index=index, title=title))
        plan.messages.append(f"Renamed **{state.titles[index]}** to **{title}**.")
        state.titles[index] = title
        return True
    return False


def _remove(clause: str, state: WorkingCanvas, plan: EditPlan) -> bool:
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


def _swap(clause: str, state: WorkingCanvas, plan: EditPlan) -> bool:
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


def _move(clause: str, state: WorkingCanvas, plan: EditPlan) -> bool:
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


def _add(clause: str, state: WorkingCanvas, plan: EditPlan) -> bool:
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
    title = _new_title(title)
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


_STRUCTURAL = (_remove, _swap, _move, _add)


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
