"""The offline model with attached documents (issue 12): the outline and the tasks come from the
document's own structure — its headings become modules, its lists tasks and steps, its title the
playbook's — so the offline demo shows the feature honestly.

A document with no usable headings gets an outline from its most frequent phrases, and the reply
says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from agent_runtime.contract import Limits, ToolName

from ._text import clip
from ._types import Reply, call
from .builder_plan import describe_module

__all__ = ["document_outline_turn", "document_tasks", "wants_document_outline"]

_USE_DOCUMENT = re.compile(
    r"\b(?:turn|convert|make|build|create|draft|use|base|based|from|into|attached|attachment|document|"
    r"file|sop|checklist|spreadsheet|runbook|playbook|outline)\b",
    re.IGNORECASE,
)


def wants_document_outline(prompt: str, has_modules: bool) -> bool:
    """Whether this turn's documents should become the outline (always on an empty canvas)."""
    return not has_modules or bool(_USE_DOCUMENT.search(prompt))


def document_outline_turn(attachments: Sequence[Mapping[str, Any]]) -> list[Reply]:
    """Replies that set the outline from the first attached document that has structure."""
    structured = next((a for a in attachments if len(a.get("outline") or []) >= 2), None)
    if structured is not None:
        modules = [
            {
                "title": clip(str(m["title"])),
                "description": clip(
                    str(m.get("description") or "") or describe_module(str(m["title"])), 2000
                ),
            }
            for m in list(structured["outline"])[: Limits.MAX_MODULES]
        ]
        title = clip(str(structured.get("title") or "Playbook"))
        listed = "\n".join(f"{n}. **{m['title']}**" for n, m in enumerate(modules, start=1))
        text = (
            f"I read **{structured['name']}** and made its {len(modules)} sections the modules of "
            f"**{title}**:\n\n{listed}\n\nWhen I build it, each module's tasks and steps come from the "
            "lists under its heading. Want to change anything first? Say **build it** when it looks right."
        )
    else:
        first = attachments[0]
        phrases = [str(p) for p in (first.get("phrases") or [])][: Limits.MAX_MODULES] or ["Overview"]
        modules = [{"title": clip(p), "description": describe_module(p)} for p in phrases]
        title = clip(str(first.get("title") or "Playbook"))
        text = (
            f"**{first['name']}** has no headings or lists I could use as a structure, so I built the "
            f"outline from its most frequent phrases: {', '.join(m['title'] for m in modules)}. Rename, "
            "add or remove modules to match how you work, then say **build it**."
        )
    args = {
        "title": title,
        "description": f"Built from {clip(str((structured or attachments[0])['name']), 150)}.",
        "modules": modules,
    }
    return [
        Reply(None, (call(ToolName.SET_PLAYBOOK_OUTLINE.value, **args),)),
        Reply(text, (call(ToolName.SUGGEST_REPLIES.value, replies=["Build it", "Move the last module up"]),)),
        Reply(None, ()),
    ]


def document_tasks(source: Mapping[str, Any] | None) -> list[tuple[str, list[str]]]:
    """The tasks (and their steps) the attached document lists under this module's heading."""
    if not source:
        return []
    tasks = []
    for task in list(source.get("tasks") or [])[: Limits.MAX_TASKS_PER_MODULE]:
        title = str(task.get("title") or "").strip()
        if title:
            steps = [
                clip(str(s))
                for s in list(task.get("steps") or [])[: Limits.MAX_STEPS_PER_TASK]
                if str(s).strip()
            ]
            tasks.append((clip(title), steps))
    return tasks
