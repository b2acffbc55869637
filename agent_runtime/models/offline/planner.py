"""The offline planner: what the router and the orchestrator "decide" without a real model.

Deterministic — the same prompt and canvas always give the same replies — and every tool call it
plans validates against :data:`agent_runtime.contract.TOOL_ARGS` and the limits.
"""

from __future__ import annotations

import re
from typing import Any

from agent_runtime.contract import Limits, ModuleStatus, Phase, ToolName

from ._documents import document_outline_turn, wants_document_outline
from ._edits import BUSY_MESSAGE, EditPlan, WorkingCanvas, is_pleasantry, parse_edits
from ._outline import build_outline, has_content
from ._text import clip
from ._types import Reply, call
from .archetypes import archetype_by_title, choose_archetype

__all__ = ["classify", "plan_turn", "plan_resume", "outline_text"]

_PLAYBOOK_SIGNALS = re.compile(
    r"\b(?:playbooks?|runbooks?|checklists?|process(?:es)?|procedures?|workflows?|sops?|handbook|"
    r"onboard\w*|offboard\w*|modules?|steps?|stages?|phases?|templates?|outline|build|rename|remove|delete|"
    r"move|add|tasks?|kickoff|kick-off|handoffs?|hand-off|handover|launch\w*|release|review\w*|audit\w*|"
    r"incidents?|outage|vendors?|suppliers?|clients?|customers?|employees?|hires?|hiring|training|"
    r"compliance|close|closing|reconcil\w*|plan|planning|project|rollout|go-live|escalat\w*|approvals?|"
    r"policy|policies|standardi[sz]e|organi[sz]e|coordinate|manage|handle|set up|prepare|document)\b",
    re.IGNORECASE,
)
_GENERAL_REPLIES = (
    (
        re.compile(
            r"^\W*(?:hi|hello|hey|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening))\b", re.I
        ),
        "Hi! I build step-by-step playbooks for work processes. Try something like “Onboard new clients "
        "with a kickoff call, document collection and a 30-day review”.",
    ),
    (
        re.compile(r"\b(?:thanks|thank you|cheers)\b", re.I),
        "You're welcome! Whenever you need a playbook — onboarding, incident response, a product "
        "launch — just describe the process.",
    ),
    (
        re.compile(r"\b(?:weather|forecast|temperature|rain|sunny)\b", re.I),
        "I can't check the weather, but I can help you plan for a rainy day: describe a work process "
        "and I'll turn it into a playbook.",
    ),
    (
        re.compile(r"\b(?:joke|funny|laugh)\b", re.I),
        "I'll leave the jokes to the professionals — but I can turn any work process into a clear "
        "playbook. What should we map out?",
    ),
    (
        re.compile(r"\b(?:who are you|what are you|what can you do|what do you do|help)\b", re.I),
        "I'm the Playbook Builder assistant: describe a process — client onboarding, incident response, "
        "vendor due diligence, a product launch — and I'll outline it, then build its tasks and steps.",
    ),
)
_GENERAL_FALLBACK = (
    "That's outside what I can help with — I build step-by-step playbooks for work processes like "
    "client onboarding or incident response. What process would you like to turn into a playbook?"
)
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


def classify(prompt: str) -> dict[str, Any]:
    """The router's decision for a first message.

    Args:
        prompt: The person's message.

    Returns:
        A ``RouterDecision`` dict: ``{"domain", "handoff_context", "reply"}``. ``domain`` is
        ``"playbooks"`` for anything about a work process (``reply`` is ``None``) and ``"general"``
        otherwise, with a short polite ``reply`` that steers back to playbooks.
    """
    text = " ".join((prompt or "").split())
    one_line = clip(text.rstrip(" .!?"), 240)
    if text and (_PLAYBOOK_SIGNALS.search(text) or choose_archetype(text) is not None):
        return {
            "domain": "playbooks",
            "handoff_context": f"The person wants help with a playbook: {one_line}.",
            "reply": None,
        }
    reply = next((answer for pattern, answer in _GENERAL_REPLIES if pattern.search(text)), _GENERAL_FALLBACK)
    return {
        "domain": "general",
        "handoff_context": f"Off-topic message: {one_line}." if one_line else "Empty message.",
        "reply": reply,
    }


def plan_turn(
    prompt: str,
    canvas: dict[str, Any],
    phase: str,
    handoff_context: str | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> list[Reply]:
    """The orchestrator's replies for one turn.

    Args:
        prompt: The person's message.
        canvas: The playbook (``PlaybookSpec`` in JSON mode) at the start of the turn.
        phase: The session's phase at the start of the turn.
        handoff_context: The router's summary, used when the prompt itself says little.
        attachments: This turn's attached documents (name, title, outline, phrases).

    Returns:
        Replies in order; the last one has no tool calls.
    """
    canvas = canvas or {}
    modules = canvas.get("modules") or []
    building = str(phase) == Phase.BUILDING.value
    if attachments and wants_document_outline(prompt, bool(modules)):
        return _closing(BUSY_MESSAGE, []) if building else document_outline_turn(attachments)
    if not modules:
        source = prompt if has_content(prompt) or not handoff_context else f"{prompt} {handoff_context}"
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


def _outline_turn(prompt: str) -> list[Reply]:
    outline = build_outline(prompt)
    args = outline.args()
    extra = _extra_topic([m["title"] for m in args["modules"]], args["title"])
    replies_args = ["Build it", f"Add a module about {extra}", "Move the last module up"]
    return [
        Reply(None, (call(ToolName.SET_PLAYBOOK_OUTLINE.value, **args),)),
        Reply(outline_text(args), (call(ToolName.SUGGEST_REPLIES.value, replies=replies_args),)),
        Reply(None, ()),
    ]


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
