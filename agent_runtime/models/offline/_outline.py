"""Turning a prompt into a playbook outline: an archetype shaped by the prompt, or its own phrases."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agent_runtime.contract import Limits

from ._text import SMALL_WORDS, clip, phrase_title, significant, split_phrases, title_case, words
from .archetypes import Archetype, choose_archetype
from .builder_plan import _inline, _kind_for, describe_module

__all__ = ["Outline", "build_outline", "has_content"]

_MAX_OUTLINE_MODULES = 12
_MAX_PHRASE_WORDS = 8
_TOPIC_WORDS = frozenset(
    "playbook playbooks runbook runbooks checklist checklists process processes procedure procedures "
    "workflow workflows sop sops guide guides template templates handbook".split()
)
_REQUEST = re.compile(
    r"^(?:(?:please|hi|hello|hey|ok|okay|so|now|can you|could you|would you|help me|help us|i need to|"
    r"we need to|i want to|we want to|i'd like to|we'd like to|i need|we need|i want|we want|let's|lets|"
    r"to|create|build|make|write|draft|design|set up|setup|put together|generate|document|map out|outline|"
    r"give me|me|us|a|an|the|our|my|new|for|on|about|how to|how we|how do we|playbook|process|runbook|"
    r"plan|planning|organise|organize|organising|organizing|run|running|handle|handling|manage|managing|"
    r"prepare|preparing|coordinate|coordinating|standardise|standardize|improve|"
    r"checklist|workflow|procedure|guide|template|sop)\b[\s,]*)+",
    re.IGNORECASE,
)
_LIST_START = re.compile(
    r"\b(?:with|including|covering|that covers|which covers|consisting of|made up of|that includes|"
    r"which includes|in which we|where we)\b|:|\n",
    re.IGNORECASE,
)
_DEAL_WITH = re.compile(r"^\s*(?:how (?:do|should|can) we\s+)?(?:deal|dealing|cope|coping)\s+with\b", re.I)
""""Deal with a failed payroll run" is about the payroll run, not a list "with" items."""
_QUESTION_ITEM = re.compile(r"^(?:what|how|who|when|where|why|which|do we|should we|can we)\b", re.I)
_NOISE_TAIL = re.compile(r"\s+(?:playbook|process|runbook|checklist|workflow|procedure|sop|guide)s?$", re.I)

_SKELETON = (
    ("Scope & Goals", "Define what the {t} must achieve, who it is for and what is out of scope."),
    ("Roles & Responsibilities", "Name an owner for the {t} and agree who does what."),
    ("Preparation", "Gather the information, tools and access the {t} needs before it starts."),
    ("Execution Checklist", "Work through the {t} step by step with clear hand-offs."),
    ("Stakeholder Communication", "Keep everyone affected by the {t} informed at each stage."),
    ("Review & Close", "Check the outcome against the goals, capture lessons and close out."),
)
_PREPARATION = ("Preparation", "Agree goals, scope, owners and timeline before work starts.")
_ROLES = ("Roles & Responsibilities", "Agree who owns each part of the work and who needs to be consulted.")
_REVIEW = ("Review & Close", "Check the outcome against the goals, capture lessons and close out.")
_COMMS = ("Stakeholder Communication", "Keep everyone affected informed at each stage.")


@dataclass
class Outline:
    """A playbook outline: the ``set_playbook_outline`` arguments, plus the archetype it came from."""

    title: str
    description: str
    modules: list[tuple[str, str]]
    archetype: Archetype | None

    def args(self) -> dict[str, Any]:
        """The arguments of a ``set_playbook_outline`` call."""
        return {
            "title": clip(self.title),
            "description": clip(self.description, Limits.MAX_DESCRIPTION_CHARS),
            "modules": [
                {"title": clip(t), "description": clip(d, Limits.MAX_DESCRIPTION_CHARS)}
                for t, d in self.modules[: Limits.MAX_MODULES]
            ],
        }


def has_content(prompt: str) -> bool:
    """Whether ``prompt`` says anything beyond request filler ("make me a playbook")."""
    return bool(_topic_text(prompt))


def build_outline(prompt: str) -> Outline:
    """The outline a prompt asks for.

    An archetype chosen by keyword score provides the modules; the prompt's own list items rename
    the closest archetype module or are inserted as new ones. Without an archetype, the items
    themselves become modules, framed by preparation and review modules.
    """
    prompt = _DEAL_WITH.sub("handle", prompt)
    topic, items = _topic_and_items(prompt)
    archetype = choose_archetype(prompt)
    if archetype is not None:
        modules = [(m.title, m.description) for m in archetype.modules]
        _merge_items(modules, items, archetype, topic)
        return Outline(archetype.title, archetype.description, modules, archetype)
    topic_title = title_case(_TIME_TAIL.sub("", topic)) if topic else ""
    title = f"{topic_title} Playbook" if topic_title else "Team Playbook"
    subject = _inline(topic_title) if topic_title else "process"
    description = (
        f"A step-by-step playbook for {subject}: who does what, in which order, and how to check it is done."
    )
    return Outline(clip(title), description, _phrase_modules(items, subject, topic, prompt), None)


def _topic_text(text: str) -> str:
    text = _REQUEST.sub("", text.strip()).strip(" .!?,")
    text = _NOISE_TAIL.sub("", text)
    text = re.sub(r"^(?:(?:for|on|about|to|the|a|an|our|my)\s+)+", "", text, flags=re.I)
    kept = text.split()[:_MAX_PHRASE_WORDS]
    return " ".join(kept) if any(w not in _TOPIC_WORDS for w in words(" ".join(kept))) else ""


def _topic_and_items(prompt: str) -> tuple[str, list[str]]:
    """Split a prompt into its topic and its list of items (the would-be modules)."""
    prompt = " ".join(prompt.replace("\r", "").split(" "))
    match = _LIST_START.search(prompt)
    if match and match.start() > 0:
        head, tail = prompt[: match.start()], prompt[match.end() :]
        items = split_phrases(tail)
        head_phrases = split_phrases(head)
        topic = _topic_text(head_phrases[0]) if head_phrases else ""
        return topic, _clean_items(items)
    phrases = split_phrases(prompt)
    if not phrases:
        return "", []
    topic = _topic_text(phrases[0])
    topic_words = significant(topic)
    items = [
        p
        for p in phrases
        if not (set(words(p)) & _TOPIC_WORDS) and not significant(_topic_text(p) or p) <= topic_words
    ]
    return topic, _clean_items(items)


def _clean_items(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        title = phrase_title(item, _MAX_PHRASE_WORDS)
        key = title.lower()
        if _QUESTION_ITEM.match(item.strip()):
            continue  # "…, what do we do?" asks for the playbook; it is not a module
        if title and key not in seen and len(item.split()) <= _MAX_PHRASE_WORDS + 4:
            seen.add(key)
            out.append(title)
    return out[:_MAX_OUTLINE_MODULES]


def _merge_items(modules: list[tuple[str, str]], items: list[str], archetype: Archetype, topic: str) -> None:
    """Rename the archetype module each item matches, or insert the item as a new module."""
    keyword_stems = {kw for kw, weight in archetype.keywords.items() if weight >= 2}
    topic_words = significant(topic)
    renamed: set[int] = set()
    cursor: int | None = None
    for item in items:
        index = _best_match(item, modules, renamed)
        if index is not None:
            title, description = modules[index]
            if title.lower() != item.lower():
                modules[index] = (item, description)
            renamed.add(index)
            cursor = index
            continue
        item_text = item.lower()
        restates_topic = bool(significant(item) & topic_words) and any(
            re.search(r"(?<![a-z0-9])" + re.escape(kw), item_text) for kw in keyword_stems
        )
        if restates_topic:
            continue  # the item is the playbook's subject ("onboard new clients"), not a module
        if len(modules) >= _MAX_OUTLINE_MODULES or any(t.lower() == item_text for t, _ in modules):
            continue
        near = _content_match(item, modules, archetype)
        if near is not None:
            position = near + 1
        else:
            position = cursor + 1 if cursor is not None else max(len(modules) - 1, 0)
        modules.insert(position, (item, describe_module(item)))
        renamed = {i + 1 if i >= position else i for i in renamed} | {position}
        cursor = position


def _best_match(item: str, modules: list[tuple[str, str]], taken: set[int]) -> int | None:
    item_words = significant(item)
    best, best_overlap = None, 0
    for index, (title, _) in enumerate(modules):
        if index in taken:
            continue
        overlap = len(item_words & significant(title))
        if overlap > best_overlap:
            best, best_overlap = index, overlap
    return best


def _content_match(item: str, modules: list[tuple[str, str]], archetype: Archetype) -> int | None:
    """The module whose description or tasks mention the item's words ("laptop" → pre-arrival)."""
    item_words = significant(item)
    content = {
        m.description: significant(
            " ".join([m.description, *(f"{t.title} {t.description} {' '.join(t.steps)}" for t in m.tasks)])
        )
        for m in archetype.modules
    }
    best, best_overlap = None, 0
    for index, (_, description) in enumerate(modules):
        overlap = len(item_words & content.get(description, set()))
        if overlap > best_overlap:
            best, best_overlap = index, overlap
    return best


_VERBS = (
    r"shut down|wind down|close down|set up|roll out|hand over|move|relocate|migrate|open|close|"
    r"run|plan|prepare|organi[sz]e|launch|renew|recall|hire|train|audit|review|ship|deliver|process|handle|"
    r"manage|build|install|upgrade|replace|retire|sunset|consolidate|merge|integrate|restructure|host|"
    r"schedule|collect|pay|reconcile|negotiate|procure|buy|sell|test|deploy|decommission|transfer|expand|"
    r"approve|respond to|track|onboard|offboard|remediate|investigate|coordinate|run through"
)
_VERB = re.compile(rf"\b(?P<verb>{_VERBS})\b", re.IGNORECASE)
_LEADING_VERB = re.compile(rf"^(?:{_VERBS})\s+", re.IGNORECASE)
_TIME_TAIL = re.compile(
    r"\s+(?:each|every|per|once a|twice a|this|next|for the)\s+(?:day|week|month|quarter|year|time)\b.*$",
    re.I,
)
_PLANNING_VERBS = frozenset(
    {"plan", "prepare", "organise", "organize", "manage", "handle", "process", "schedule"}
)


def _skeleton(subject: str, topic: str, prompt: str) -> list[tuple[str, str]]:
    """Modules named after the prompt's own action and object when nothing more specific fits.

    "Shut down a product line" → Scope the Product Line, …, Shut Down the Product Line, …; a prompt
    whose verb only says "organise" or "plan" gets a neutral "Deliver the …" for the doing part.
    """
    obj = _TIME_TAIL.sub("", topic.strip())
    obj = _LEADING_VERB.sub("", obj)
    obj = re.sub(r"^(?:(?:a|an|the|our|my|their|your|new)\s+)+", "", obj, flags=re.IGNORECASE)
    if not obj or not has_content(obj):
        return [(title, clip(desc.format(t=subject), 300)) for title, desc in _SKELETON]
    found = _VERB.search(prompt)
    verb = found.group("verb").lower() if found else ""
    action = title_case(verb) if verb and verb not in _PLANNING_VERBS else "Deliver"
    kept = obj.split()[: _MAX_PHRASE_WORDS - 2]
    while len(kept) > 1 and kept[-1].lower() in SMALL_WORDS | {"new", "our", "my"}:
        kept.pop()
    thing = title_case(" ".join(kept))
    low = _inline(thing)

    def module(title: str, description: str) -> tuple[str, str]:
        return clip(title), clip(description, 300)

    return [
        module(
            f"Scope the {thing}",
            f"Agree what the {low} must achieve, who is involved and what is out of scope.",
        ),
        module(
            f"{thing} Owners & Approvals",
            f"Name an owner for each part of the {low} and who must approve it.",
        ),
        module(
            f"Get Ready for the {thing}",
            f"Gather the information, budget, tools and people the {low} needs before work starts.",
        ),
        module(f"{action} the {thing}", f"{action} the {low} step by step, with clear hand-offs and checks."),
        module(
            f"{thing} Communication",
            f"Tell everyone affected by the {low} what is happening, when, and what it means for them.",
        ),
        module(
            f"Review the {thing}", f"Check the {low} against its goals, capture lessons and close it out."
        ),
    ]


def _phrase_modules(
    items: list[str], subject: str, topic: str = "", prompt: str = ""
) -> list[tuple[str, str]]:
    if not items:
        return _skeleton(subject, topic, prompt)
    modules = [(item, describe_module(item)) for item in items]
    if _kind_for(items[0]).name != "planning":
        modules.insert(0, _PREPARATION)
    if _kind_for(items[-1]).name != "review":
        modules.append(_REVIEW)
    for filler in (_ROLES, _COMMS):
        if len(modules) < 4:
            modules.insert(len(modules) - 1, filler)
    return modules
