"""The offline planner's library of playbook archetypes and how a prompt picks one.

The archetypes are data: one YAML file each under ``data/`` (checked against :class:`ArchetypeFile`
when loaded, once, at import), turned into frozen dataclasses. A prompt picks an archetype by a
score over its keywords — words and phrases matched at word starts, each with a weight; negative
weights count against it (``employee`` against customer offboarding) — so the best overall fit
wins, not the first keyword found.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from agent_runtime import yamltext
from agent_runtime.contract import Limits

from ._text import significant

__all__ = [
    "ARCHETYPES",
    "Archetype",
    "ArchetypeFile",
    "DATA_DIR",
    "load_archetypes",
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
    subject: str
    """Who or what the playbook is about ("customer", "employee"); a correction swaps it."""
    extra: str
    """A topic to suggest as an extra module ("Add a module about …")."""
    modules: tuple[ModuleTemplate, ...]


DATA_DIR = Path(__file__).with_name("data")
"""Where the archetype files live (``NN_key.yaml``; the number orders ties)."""

_Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=Limits.MAX_TITLE_CHARS)
]
_Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=Limits.MAX_DESCRIPTION_CHARS)
]


class _TaskData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: _Text
    description: _Description
    steps: list[_Text] = Field(min_length=2, max_length=8)


class _ModuleData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: _Text
    description: _Description
    tasks: list[_TaskData] = Field(min_length=2, max_length=8)


class ArchetypeFile(BaseModel):
    """The schema of one archetype file."""

    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{2,59}$")]
    title: _Text
    description: _Description
    subject: _Text
    keywords: dict[
        Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9 '&/-]*$")], Annotated[int, Field(ge=-10, le=10)]
    ] = Field(min_length=3)
    extra: _Text
    modules: list[_ModuleData] = Field(min_length=3, max_length=Limits.MAX_MODULES)


def _archetype(data: ArchetypeFile) -> Archetype:
    modules = tuple(
        ModuleTemplate(
            m.title,
            m.description,
            tuple(TaskTemplate(t.title, t.description, tuple(t.steps)) for t in m.tasks),
        )
        for m in data.modules
    )
    return Archetype(
        key=data.key,
        title=data.title,
        description=data.description,
        keywords=dict(data.keywords),
        subject=data.subject,
        extra=data.extra,
        modules=modules,
    )


def load_archetypes(folder: Path = DATA_DIR) -> tuple[Archetype, ...]:
    """Read and check every archetype file in ``folder``, in file-name order.

    Raises:
        ValueError: A file is not valid YAML or breaks the schema (the message names the file),
            or two files use the same key.
    """
    loaded: list[Archetype] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            raw = yamltext.safe_load(path.read_text(encoding="utf-8"))
            loaded.append(_archetype(ArchetypeFile.model_validate(raw)))
        except (yaml.YAMLError, ValueError) as exc:
            raise ValueError(f"archetype file {path.name}: {exc}") from exc
    keys = [a.key for a in loaded]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"duplicate archetype key(s): {', '.join(duplicates)}")
    return tuple(loaded)


ARCHETYPES: tuple[Archetype, ...] = load_archetypes()
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
