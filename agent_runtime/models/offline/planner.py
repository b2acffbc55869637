"""The offline planner: what the orchestrator "decides" without a real model (the router: :mod:`.router`).

Deterministic — the same prompt and canvas always give the same replies — and every tool call it
plans validates against :data:`agent_runtime.contract.TOOL_ARGS` and the limits.
"""

from __future__ import annotations

import re
from typing import Any

from agent_runtime.contract import Limits, ModuleStatus, Phase, ToolName

from ._documents import document_outline_turn, wants_document_outline
from ._edits import is_pleasantry, parse_edits
from ._history import history_request, history_turn
from ._outline import build_outline, has_content
from ._text import clip
from ._types import Reply, call
from ._working import BUSY_MESSAGE, EditPlan, WorkingCanvas
from .archetypes import archetype_by_title, choose_archetype
from .router import ROUTER_LEAD

__all__ = ["plan_turn", "plan_resume", "outline_text"]

_NEW_PLAYBOOK = re.compile(
    r"\b(?:start (?:over|again|afresh)|from scratch|scrap (?:it|this|that|the playbook|everything)|"
    r"begin again|different playbook|another playbook|new playbook|instead)\b",
    re.IGNORECASE,
)
_CREATE = re.compile(
    r"^(?:please\s+)?(?:(?:can|could) you\s+)?(?:create|make|draft|write|design|generate|build|give me|"
    r"i need|we need|i want|we want|let'?s (?:do|make|build|create))\s+(?:me\s+|us\s+)?"
    r"(?:a|an|another|new)\s+(?P<rest>.+)$",
    re.IGNORECASE,
)
_HELP = (
    "I can change the outline for you:\n\n"
    "- **add** a module — “add a module about security review”, “add training after module 2”\n"
    "- **rename** — “rename module 2 to Kickoff”, “rename the playbook to Client Welcome”\n"
    "- **remove** — “remove the last module”\n"
    "- **reorder** — “move module 3 first”, “move the last module up”\n"
    "- **start over** — “start over with an incident response playbook”\n\n"
    "When you're happy with it, say **build it** and I'll write the tasks and steps."
)
_EXTRA_TOPICS = ("stakeholder communication", "training", "lessons learned", "risk management")


def plan_turn(
    prompt: str,
    canvas: dict[str, Any],
    phase: str,
    handoff_context: str | None = None,
    attachments: list[dict[str, Any]] | None = None,
    selected: dict[str, Any] | None = None,
    selection_note: str | None = None,
    history: dict[str, Any] | None = None,
) -> list[Reply]:
    """The orchestrator's replies for one turn.

    Args:
        prompt: The person's message.
        canvas: The playbook (``PlaybookSpec`` in JSON mode) at the start of the turn.
        phase: The session's phase at the start of the turn.
        handoff_context: The router's summary, used when the prompt itself says little.
        attachments: This turn's attached documents (name, title, outline, phrases).
        selected: What the person selected on the canvas (``module_index``, ``task_index``?,
            zero-based): "this", "it" and "the selected task" mean it.
        selection_note: Why the page's selection was ignored this turn, if it was.
        history: ``{can_undo, can_redo}`` of the canvas ("undo", "revert that", "redo").

    Returns:
        Replies in order; the last one has no tool calls.
    """
    undo_redo = history_request(prompt)
    if undo_redo is not None:
        return history_turn(undo_redo, history, str(phase))
    canvas = canvas or {}
    modules = canvas.get("modules") or []
    building = str(phase) == Phase.BUILDING.value
    if attachments and wants_document_outline(prompt, bool(modules)):
        return _closing(BUSY_MESSAGE, []) if building else document_outline_turn(attachments)
    if not modules:
        handoff = ROUTER_LEAD.sub("", handoff_context or "")
        source = prompt if has_content(prompt) or not handoff else f"{prompt} {handoff}"
        if is_pleasantry(prompt) or not has_content(source):
            return _ask_for_process()
        return _outline_turn(source)
    building = str(phase) == Phase.BUILDING.value
    new_topic = _new_playbook_request(prompt)
    if new_topic is not None and building:
        return _closing(BUSY_MESSAGE, [])
    if new_topic is not None:
        return _outline_turn(new_topic) if has_content(new_topic) else _ask_for_process(restart=True)
    state = WorkingCanvas.from_canvas(canvas)
    state.building = building
    state.selected = selected if isinstance(selected, dict) else None
    state.selection_note = selection_note
    corrected = _corrected_request(prompt, str(canvas.get("title") or ""), state, building)
    if corrected is not None:
        if building:
            return _closing(BUSY_MESSAGE, [])
        request, meant = corrected
        return _outline_turn(request, lead=f"Got it — {meant}. I've re-planned the outline.")
    plan = parse_edits(prompt, state, building=building)
    if not plan.calls and not plan.problems:
        if choose_archetype(prompt) is not None and re.search(
            r"\b(?:playbook|runbook|process|checklist)\b", prompt, re.IGNORECASE
        ):
            return _outline_turn(prompt)
        if is_pleasantry(prompt):
            return _ack_turn(state)
        return _help_turn(state)
    return _edit_turn(plan, state)


def plan_resume(
    decision: str, summary: str, context: str | None, canvas: dict[str, Any], phase: str
) -> list[Reply]:
    """The orchestrator's replies after a person declined a paused tool call.

    ``approve`` never gets here (the paused call simply runs and the turn's plan continues).

    Args:
        decision: ``reject``, ``add_context``, ``reroute``, ``superseded`` or ``expired``.
        summary: The paused action in a few words ("build 12 modules").
        context: The person's extra words, if any.
        canvas: The playbook at the start of the continuation.
        phase: The session's phase then.

    Returns:
        Replies in order; the last one has no tool calls. For ``add_context`` the person's words
        are planned like a follow-up message ("only build the first 5 modules" builds five); if
        they ask for nothing the planner can do, it acknowledges them and runs nothing.
    """
    canvas = canvas or {}
    state = WorkingCanvas.from_canvas(canvas) if canvas.get("modules") else None
    chips = _suggestions(state) if state is not None else []
    if decision == "add_context" and context and context.strip():
        replies = plan_turn(context, canvas, phase)
        if any(c.name != ToolName.SUGGEST_REPLIES.value for r in replies for c in r.tool_calls):
            return replies
        return _closing(
            f"Noted: “{clip(context.strip(), 200)}”. I haven't run anything ({summary} is on hold) — "
            "tell me what to change, or say **build it** when you're ready.",
            chips,
        )
    if decision == "reject":
        note = f" You said: “{clip(context.strip(), 200)}”." if context and context.strip() else ""
        return _closing(
            f"Understood — you rejected the request to {summary}, so I didn't do it and nothing was "
            f"built.{note} The playbook stays as it is; tell me what to change, or pick a smaller step.",
            chips,
        )
    return _closing(f"Okay — I didn't {summary}.", [])


def outline_text(args: dict[str, Any]) -> str:
    """The markdown message that presents a new outline."""
    lines = [f"Here's an outline for **{args['title']}** — {len(args['modules'])} modules:", ""]
    for number, module in enumerate(args["modules"], start=1):
        lines.append(f"{number}. **{module['title']}** — {module['description']}")
    lines += [
        "",
        "Want to change anything? I can add, rename, remove or reorder modules. When it looks right, "
        "say **build it** and I'll fill in the tasks and steps.",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------


def _outline_turn(prompt: str, *, lead: str | None = None) -> list[Reply]:
    outline = build_outline(prompt)
    args = outline.args()
    extra = _extra_topic([m["title"] for m in args["modules"]], args["title"])
    replies_args = ["Build it", f"Add a module about {extra}", "Move the last module up"]
    text = outline_text(args) if lead is None else f"{lead}\n\n{outline_text(args)}"
    return [
        Reply(None, (call(ToolName.SET_PLAYBOOK_OUTLINE.value, **args),)),
        Reply(text, (call(ToolName.SUGGEST_REPLIES.value, replies=replies_args),)),
        Reply(None, ()),
    ]


_CORRECTION_PATTERNS = (
    # "not customers, employees" / "not for customers but for employees"
    re.compile(
        r"^\W*(?:no[,.!]?\s+)?not\s+(?:for\s+|about\s+|an?\s+|the\s+)?(?P<wrong>[\w' -]+?)\s*"
        r"(?:[,;:—–-]+|\bbut\b)\s*(?:but\s+)?(?:i\s+meant\s+|we\s+meant\s+|for\s+|about\s+|an?\s+|the\s+)*"
        r"(?P<right>[\w' -]+?)\W*$",
        re.IGNORECASE,
    ),
    # "employees, not customers"
    re.compile(
        r"^\W*(?:no[,.!]?\s+)?(?:i\s+meant\s+|we\s+meant\s+)?(?:an?\s+|the\s+)?(?P<right>[\w' -]+?)[,;]?\s+"
        r"not\s+(?:an?\s+|the\s+)?(?P<wrong>[\w' -]+?)\W*$",
        re.IGNORECASE,
    ),
    # "no, I meant an employee" / "actually we meant a product recall" / "I meant employees"
    re.compile(
        r"^\W*(?:(?:no|nope|not quite|actually|sorry|oops|wrong(?: one)?)\b[\s,.!—–-]*)*"
        r"(?:i|we)\s+(?:meant|mean|wanted|asked for|was asking about|was talking about)\s+"
        r"(?:(?:an?|the|for|about|our)\s+)*(?P<right>.+?)\W*$",
        re.IGNORECASE,
    ),
    # "no, an employee" / "no — employee offboarding"
    re.compile(
        r"^\W*(?:no|nope|not quite|wrong)\b[\s,.!—–-]+(?:(?:an?|the|for|about|it'?s|its|it is)\s+)*"
        r"(?P<right>[\w' -]+?)\W*$",
        re.IGNORECASE,
    ),
)


_NOT_A_TOPIC = re.compile(
    r"^(?:thanks?|thank you|problem|worries|need|way|idea|matter|yet|now|more|change|changes|that|this|it|"
    r"that'?s (?:fine|ok|okay|it)|(?:fine|ok|okay|good|great|perfect|sure)|stop|wait|later|never ?mind)\b",
    re.IGNORECASE,
)


def _singular(word: str) -> str:
    lower = word.lower()
    if lower.endswith("ies") and len(lower) > 4:
        return word[:-3] + "y"
    if lower.endswith("s") and not lower.endswith("ss") and len(lower) > 3:
        return word[:-1]
    return word


def _corrected_request(
    prompt: str, title: str, state: WorkingCanvas, building: bool
) -> tuple[str, str] | None:
    """A correction of what the playbook is about, as a new request; ``None`` if it is no correction.

    "No, I meant an employee" on a *customer* offboarding outline → "Employee Offboarding";
    "not customers, employees" likewise; "no, I meant a product recall" → "product recall". A
    message that is an edit ("no, rename module 2 to …") stays an edit.
    """
    text = " ".join(prompt.split())
    if len(text) > 160:
        return None
    for pattern in _CORRECTION_PATTERNS:
        match = pattern.match(text)
        if match is not None:
            break
    else:
        return None
    right = match.group("right").strip(" -'")
    wrong = (match.groupdict().get("wrong") or "").strip(" -'")
    if (
        not right
        or not has_content(right)
        or is_pleasantry(text)
        or _NOT_A_TOPIC.match(right)
        or parse_edits(right, state, building=building).calls
    ):
        return None
    right_words = [_singular(w) for w in right.split()]
    right_text = " ".join(right_words)
    archetype = archetype_by_title(title)
    base = re.sub(r"\s+playbook$", "", title.strip(), flags=re.IGNORECASE)
    old_words = [_singular(w) for w in wrong.split()] if wrong else []
    if not old_words and archetype is not None:
        old_words = archetype.subject.split()
    candidates: list[str] = []
    if old_words:
        pattern = re.compile(r"\b" + r"\s+".join(re.escape(w) for w in old_words) + r"s?\b", re.IGNORECASE)
        if pattern.search(base):
            candidates.append(pattern.sub(right_text, base, count=1))
    own = choose_archetype(right_text)
    if len(right_words) > 1 and own is not None and (archetype is None or own.key != archetype.key):
        candidates.insert(0, right_text)  # a topic of its own ("a product recall")
    candidates.append(right_text if len(right_words) > 1 or not base else f"{right_text} {base}")
    for request in candidates:
        chosen = choose_archetype(request)
        if chosen is not None and archetype is not None and chosen.key == archetype.key:
            continue  # the same playbook again is no correction
        if has_content(request):
            meant = f"you meant {right}" + (f", not {wrong}" if wrong else "")
            return request, meant
    return None


def _edit_turn(plan: EditPlan, state: WorkingCanvas) -> list[Reply]:
    sentences = plan.messages + plan.problems
    if plan.unparsed and plan.calls:
        quoted = "; ".join(f"“{clip(u, 60)}”" for u in plan.unparsed[:2])
        sentences.append(f"I wasn't sure what to do with {quoted} — try rephrasing it.")
    text = " ".join(sentences)
    builds = any(c.name == ToolName.BUILD_MODULES.value for c in plan.calls)
    replies: list[Reply] = []
    if plan.calls:
        replies.append(Reply(None, tuple(plan.calls)))
    if builds:
        replies.append(Reply(text, ()))
        return replies
    return replies + _closing(text, _suggestions(state))


def _help_turn(state: WorkingCanvas) -> list[Reply]:
    return _closing(_HELP, _suggestions(state))


def _closing(text: str, chips: list[str]) -> list[Reply]:
    """The end of a turn: the text with suggested replies, then an empty reply (or just the text)."""
    if not chips:
        return [Reply(text, ())]
    return [Reply(text, (call(ToolName.SUGGEST_REPLIES.value, replies=chips),)), Reply(None, ())]


def _ack_turn(state: WorkingCanvas) -> list[Reply]:
    text = "Glad it helps! Tell me what to change, or say **build it** when you're ready."
    if state.building:
        text = "Glad it helps! The modules are still building — watch them fill in on the canvas."
    elif all(s == ModuleStatus.BUILT for s in state.statuses):
        text = "Glad it helps! Tell me if anything should change — modules can be added, renamed or rebuilt."
    return _closing(text, _suggestions(state))


def _ask_for_process(restart: bool = False) -> list[Reply]:
    lead = "Happy to start fresh. " if restart else ""
    text = (
        f"{lead}What process should the playbook cover? Describe it in a sentence — for example "
        "“Onboard new clients with a kickoff call, document collection and a 30-day review”."
    )
    chips = ["Client onboarding playbook", "Incident response playbook", "Product launch playbook"]
    return _closing(text, chips)


def _new_playbook_request(prompt: str) -> str | None:
    """The topic of a new playbook the prompt asks for while one exists, else ``None``."""
    text = " ".join(prompt.split())
    if _NEW_PLAYBOOK.search(text):
        rest = _NEW_PLAYBOOK.sub(" ", text)
        rest = re.sub(
            r"^[\s,.:;!-]*(?:(?:let'?s|please|and|ok(?:ay)?|with|for|on|using)\b[\s,.:;!-]*)*",
            "",
            rest,
            flags=re.IGNORECASE,
        )
        return rest.strip(" ,.!?")
    match = _CREATE.match(text)
    if match and not re.search(r"\b(?:module|section|task|step)s?\b", match.group("rest"), re.IGNORECASE):
        rest = match.group("rest")
        if re.search(
            r"\b(?:playbook|runbook|process|checklist|workflow|procedure)\b", rest, re.IGNORECASE
        ) or (choose_archetype(rest) is not None):
            return text
    return None


def _suggestions(state: WorkingCanvas) -> list[str]:
    if state.building:
        return []  # nothing structural can be done until the build finishes
    chips: list[str] = []
    if any(s != ModuleStatus.BUILT for s in state.statuses):
        chips.append("Build it")
    if len(state.titles) < Limits.MAX_MODULES:
        chips.append(f"Add a module about {_extra_topic(state.titles, state.title)}")
    if len(state.titles) > 1:
        chips.append("Move the last module up")
    return chips or ["Start over with a new playbook"]


def _extra_topic(titles: list[str], playbook_title: str) -> str:
    archetype = archetype_by_title(playbook_title)
    existing = {t.lower() for t in titles}
    candidates = ((archetype.extra,) if archetype else ()) + _EXTRA_TOPICS
    return next((c for c in candidates if c.title().lower() not in existing), "next steps")
