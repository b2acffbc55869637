"""The bounded self-check of a built module: rules from ``agents.yaml`` (the builder's ``self_check``).

:func:`check_module` returns the findings — one plain sentence each, addressed to the builder —
for a module as it stands on the canvas. The builder calls it after it finishes; when there are
findings it gives them back to its agent for at most ``max_repair_rounds`` rounds (see
:mod:`agent_runtime.agents.builder`). Deterministic and model-free, so it costs no tokens.

A module drawn from an attached document is checked with :meth:`CheckRules.for_document` (only
titles and limits). Rules: at least ``min_tasks`` tasks (and at most ``max_tasks``), each with
``min_steps_per_task`` to ``max_steps_per_task`` steps, no empty or placeholder titles, no
duplicate task titles in the module nor duplicate step titles in a task, titles within
``max_title_chars``, steps phrased as actions (an imperative first word — not an article, pronoun,
placeholder or a noun such as "Documentation"), and tasks consistent with the module's title and
description (they share words with it).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from agent_runtime.contract import Limits, ModuleSpec

__all__ = ["CheckRules", "check_module"]

_WORD = re.compile(r"[a-z0-9]+")
_PLACEHOLDERS = frozenset(
    {"tbd", "todo", "tbc", "n/a", "na", "none", "untitled", "placeholder", "...", "-", "step", "task"}
)
_NOUN_SUFFIXES = ("tion", "ness", "ity")
_VERBS_WITH_NOUN_SUFFIX = frozenset(
    {
        "mention",
        "question",
        "position",
        "sanction",
        "partition",
        "caution",
        "function",
        "audition",
        "ration",
        "station",
        "auction",
        "motion",
        "petition",
        "section",
        "commission",
        "condition",
        "transition",
    }
)
_DEFAULT_NON_ACTION = (
    "a",
    "an",
    "the",
    "this",
    "that",
    "these",
    "those",
    "it",
    "its",
    "there",
    "we",
    "they",
    "our",
    "my",
    "your",
    "their",
    "he",
    "she",
    "i",
    "you",
    "step",
    "task",
    "tbd",
    "todo",
    "maybe",
    "possibly",
    "optional",
    "should",
    "could",
    "would",
    "might",
    "some",
    "all",
    "any",
    "each",
    "every",
)
_STOP = frozenset(
    {"a", "an", "and", "the", "of", "for", "to", "in", "on", "with", "by", "at", "or", "from", "is", "be"}
)
_STEM = 5


class CheckRules(BaseModel):
    """The self-check rules and its bound (``self_check`` of the builder in ``agents.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_tasks: Annotated[int, Field(ge=1, le=Limits.MAX_TASKS_PER_MODULE)] = 2
    max_tasks: Annotated[int, Field(ge=1, le=Limits.MAX_TASKS_PER_MODULE)] = 12
    min_steps_per_task: Annotated[int, Field(ge=0, le=Limits.MAX_STEPS_PER_TASK)] = 1
    max_steps_per_task: Annotated[int, Field(ge=1, le=Limits.MAX_STEPS_PER_TASK)] = 12
    max_title_chars: Annotated[int, Field(ge=10, le=Limits.MAX_TITLE_CHARS)] = 120
    unique_titles: bool = True
    action_steps: bool = True
    non_action_starters: tuple[str, ...] = _DEFAULT_NON_ACTION
    consistent_with_description: bool = True
    max_repair_rounds: Annotated[int, Field(ge=0, le=5)] = 2
    """K: how many times the builder is asked to fix its module before it is left with warnings."""

    def for_document(self) -> CheckRules:
        """The rules for a module drawn from an attached document: the person's own content.

        Its shape and wording are the document's (one task, a task without sub-items, a noun
        phrase), so only what is wrong whatever the source is checked: empty, placeholder and
        duplicate titles, and the limits.
        """
        return self.model_copy(
            update={
                "min_tasks": 1,
                "min_steps_per_task": 0,
                "action_steps": False,
                "consistent_with_description": False,
            }
        )


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _stems(text: str) -> set[str]:
    return {w[:_STEM] for w in _words(text) if w not in _STOP and len(w) > 2}


def _blank(title: str) -> bool:
    return not title.strip() or title.strip().lower() in _PLACEHOLDERS


def _not_an_action(title: str, starters: frozenset[str]) -> bool:
    found = _words(title)
    if not found:
        return True
    first = found[0]
    if first in starters or first.isdigit():
        return True
    return first.endswith(_NOUN_SUFFIXES) and first not in _VERBS_WITH_NOUN_SUFFIX


def check_module(module: ModuleSpec, rules: CheckRules) -> list[str]:
    """What is wrong with ``module`` under ``rules`` (empty: it passes). Indices in findings are 1-based."""
    findings: list[str] = []
    tasks = module.tasks
    if len(tasks) < rules.min_tasks:
        findings.append(f"the module has {len(tasks)} task(s); it needs at least {rules.min_tasks}")
    if len(tasks) > rules.max_tasks:
        findings.append(f"the module has {len(tasks)} tasks; keep it to at most {rules.max_tasks}")
    starters = frozenset(w.lower() for w in rules.non_action_starters)
    seen_tasks: dict[str, int] = {}
    for t_no, task in enumerate(tasks, start=1):
        label = f"task {t_no} ({task.title.strip()[:60]!r})"
        if _blank(task.title):
            findings.append(f"task {t_no} has an empty or placeholder title")
        elif len(task.title) > rules.max_title_chars:
            findings.append(f"{label}: the title is longer than {rules.max_title_chars} characters")
        key = " ".join(_words(task.title))
        if rules.unique_titles and key and key in seen_tasks:
            findings.append(f"{label} duplicates the title of task {seen_tasks[key]}")
        seen_tasks.setdefault(key, t_no)
        if len(task.steps) < rules.min_steps_per_task:
            findings.append(
                f"{label} has {len(task.steps)} step(s); it needs at least {rules.min_steps_per_task}"
            )
        if len(task.steps) > rules.max_steps_per_task:
            findings.append(
                f"{label} has {len(task.steps)} steps; keep it to at most {rules.max_steps_per_task}"
            )
        seen_steps: set[str] = set()
        for s_no, step in enumerate(task.steps, start=1):
            where = f"{label}, step {s_no}"
            if _blank(step.title):
                findings.append(f"{where} has an empty or placeholder title")
                continue
            if len(step.title) > rules.max_title_chars:
                findings.append(f"{where}: the title is longer than {rules.max_title_chars} characters")
            step_key = " ".join(_words(step.title))
            if rules.unique_titles and step_key in seen_steps:
                findings.append(f"{where} repeats an earlier step of the same task")
            seen_steps.add(step_key)
            if rules.action_steps and _not_an_action(step.title, starters):
                findings.append(
                    f"{where} ({step.title.strip()[:60]!r}) is not phrased as an action; start with a verb"
                )
    if rules.consistent_with_description and tasks:
        topic = _stems(f"{module.title} {module.description}")
        content = _stems(
            " ".join(
                f"{t.title} {t.description} " + " ".join(f"{s.title} {s.description}" for s in t.steps)
                for t in tasks
            )
        )
        if topic and not topic & content:
            findings.append(
                f"no task mentions what the module is about ({module.title!r}); "
                "make the tasks match its description"
            )
    return findings
