"""The offline planner's library of playbook archetypes and how a prompt picks one.

The data lives in :mod:`._library_a`, :mod:`._library_b` and :mod:`._library_c` in a compact form;
this module turns it into frozen dataclasses once, at import, and offers keyword scoring and module
lookup.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._library_a import ARCHETYPES_A
from ._library_b import ARCHETYPES_B
from ._library_c import ARCHETYPES_C
from ._text import significant

__all__ = [
    "ARCHETYPES",
    "Archetype",
    "ModuleTemplate",
    "TaskTemplate",
    "MIN_SCORE",
    "choose_archetype",
    "find_module_template",
    "score_archetypes",
]

MIN_SCORE = 3
"""The lowest keyword score that picks an archetype; below it the outline comes from the prompt."""


@dataclass(frozen=True)
class TaskTemplate:
    """A task with its steps (step titles)."""

    title: str
    description: str
    steps: tuple[str, ...]


@dataclass(frozen=True)
class ModuleTemplate:
    """A module with the tasks a builder gives it."""

    title: str
    description: str
    tasks: tuple[TaskTemplate, ...]


@dataclass(frozen=True)
class Archetype:
    """A kind of playbook: its title, the words that point to it and its modules."""

    key: str
    title: str
    description: str
    keywords: Mapping[str, int]
    extra: str
    """A topic to suggest as an extra module ("Add a module about …")."""
    modules: tuple[ModuleTemplate, ...]


def _parse_task(text: str) -> TaskTemplate:
    title, description, steps = (part.strip() for part in text.split(" | "))
    return TaskTemplate(title, description, tuple(s.strip() for s in steps.split(";") if s.strip()))


def _parse(data: Mapping[str, Any]) -> Archetype:
    modules = tuple(
        ModuleTemplate(title, description, tuple(_parse_task(t) for t in tasks))
        for title, description, tasks in data["modules"]
    )
    return Archetype(
        key=data["key"],
        title=data["title"],
        description=data["description"],
        keywords=dict(data["keywords"]),
        extra=data["extra"],
        modules=modules,
    )


ARCHETYPES: tuple[Archetype, ...] = tuple(_parse(d) for d in (*ARCHETYPES_A, *ARCHETYPES_B, *ARCHETYPES_C))
_BY_KEY = {a.key: a for a in ARCHETYPES}
_PATTERNS = {
    a.key: [(re.compile(r"(?<![a-z0-9])" + re.escape(kw)), weight) for kw, weight in a.keywords.items()]
    for a in ARCHETYPES
}


def score_archetypes(prompt: str) -> list[tuple[int, Archetype]]:
    """Score every archetype against ``prompt`` (keywords match word starts), best first.

    Ties keep library order, so the result is deterministic.
    """
    text = prompt.lower()
    scored = [
        (sum(weight for pattern, weight in _PATTERNS[a.key] if pattern.search(text)), a) for a in ARCHETYPES
    ]
    order = {a.key: i for i, a in enumerate(ARCHETYPES)}
    return sorted(scored, key=lambda item: (-item[0], order[item[1].key]))


def choose_archetype(prompt: str) -> Archetype | None:
    """The archetype the prompt is about, or ``None`` when no archetype scores :data:`MIN_SCORE`."""
    score, best = score_archetypes(prompt)[0]
    return best if score >= MIN_SCORE else None


def archetype_by_title(title: str) -> Archetype | None:
    """The archetype whose playbook title is ``title`` (case-insensitive), if any."""
    wanted = title.strip().lower()
    return next((a for a in ARCHETYPES if a.title.lower() == wanted), None)


def find_module_template(
    title: str, description: str = "", playbook_title: str = ""
) -> ModuleTemplate | None:
    """The library module a canvas module came from, or the closest fit by title.

    Looks for, in order: the same description (a module renamed from an archetype keeps it), the same
    title, then a title sharing at least two meaningful words. The playbook's own archetype wins ties.

    Args:
        title: The module's title on the canvas.
        description: The module's description on the canvas.
        playbook_title: The playbook's title, used to prefer its archetype.

    Returns:
        The matching template, or ``None`` when nothing fits well.
    """
    own = archetype_by_title(playbook_title) if playbook_title else None
    candidates = ([*own.modules] if own else []) + [m for a in ARCHETYPES if a is not own for m in a.modules]
    wanted_desc = " ".join(description.split()).lower()
    wanted_title = " ".join(title.split()).lower()
    if wanted_desc:
        for module in candidates:
            if module.description.lower() == wanted_desc:
                return module
    for module in candidates:
        if module.title.lower() == wanted_title:
            return module
    words = significant(title)
    best, best_overlap = None, 1
    for module in candidates:
        overlap = len(words & significant(module.title))
        if overlap > best_overlap:
            best, best_overlap = module, overlap
    return best


def get(key: str) -> Archetype:
    """The archetype with ``key``.

    Raises:
        KeyError: No such archetype.
    """
    return _BY_KEY[key]
