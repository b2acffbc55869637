"""Versions of a saved playbook (issue 11): every save is an immutable snapshot (who, when, from
which session), a readable diff between two, restore as a new version, and a Markdown export.

A version is the playbook in the wire shape (``PlaybookSpec`` JSON) in ``or_playbook_version``;
the ``or_module``/``or_task``/``or_task_step`` rows stay the current version (what the pages and
the API read). A playbook saved before versions existed gets its first version from its current
content the first time it changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ..models import Module, Playbook, PlaybookVersion, Task, TaskStep, utcnow

__all__ = ["Change", "current_spec", "diff_specs", "record_version", "to_markdown"]


def current_spec(conn: Connection, playbook_id: int) -> dict[str, Any]:
    """The playbook's current content in the wire shape, read with Core (inside a transaction)."""
    head = conn.execute(select(Playbook.title, Playbook.description).where(Playbook.id == playbook_id)).one()
    modules = conn.execute(
        select(Module.id, Module.title, Module.description)
        .where(Module.playbook_id == playbook_id)
        .order_by(Module.position)
    ).all()
    module_ids = [m.id for m in modules]
    tasks = (
        conn.execute(
            select(Task.id, Task.module_id, Task.title, Task.description)
            .where(Task.module_id.in_(module_ids))
            .order_by(Task.module_id, Task.position)
        ).all()
        if module_ids
        else []
    )
    task_ids = [t.id for t in tasks]
    steps = (
        conn.execute(
            select(TaskStep.task_id, TaskStep.title, TaskStep.description)
            .where(TaskStep.task_id.in_(task_ids))
            .order_by(TaskStep.task_id, TaskStep.position)
        ).all()
        if task_ids
        else []
    )
    steps_of: dict[int, list[dict[str, str]]] = {}
    for s in steps:
        steps_of.setdefault(s.task_id, []).append({"title": s.title, "description": s.description})
    tasks_of: dict[int, list[dict[str, Any]]] = {}
    for t in tasks:
        tasks_of.setdefault(t.module_id, []).append(
            {"title": t.title, "description": t.description, "steps": steps_of.get(t.id, [])}
        )
    return {
        "title": head.title,
        "description": head.description,
        "modules": [
            {
                "title": m.title,
                "description": m.description,
                "status": "built",
                "tasks": tasks_of.get(m.id, []),
            }
            for m in modules
        ],
    }


def record_version(
    conn: Connection,
    playbook_id: int,
    spec: dict[str, Any],
    *,
    user_id: int,
    source_session_id: str | None = None,
    note: str | None = None,
    before: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    first: bool = False,
) -> int:
    """Append the next version (inside the caller's transaction) and return its number.

    ``before``: the content before this change, recorded first as version 1 when the playbook has no
    version yet (saved before versions existed). ``first``: a new playbook's version 1 (one INSERT).
    """
    if first:
        conn.execute(
            insert(PlaybookVersion),
            {
                "playbook_id": playbook_id,
                "version": 1,
                "created_by": user_id,
                "created_at": utcnow(),
                "source_session_id": source_session_id,
                "spec": spec,
                "idempotency_key": idempotency_key,
            },
        )
        return 1
    latest = conn.execute(
        select(func.max(PlaybookVersion.version)).where(PlaybookVersion.playbook_id == playbook_id)
    ).scalar()
    now = utcnow()
    if latest is None and before is not None:
        created = conn.execute(
            select(Playbook.created_by, Playbook.created_at, Playbook.source_session_id).where(
                Playbook.id == playbook_id
            )
        ).one()
        conn.execute(
            insert(PlaybookVersion),
            {
                "playbook_id": playbook_id,
                "version": 1,
                "created_by": created.created_by,
                "created_at": created.created_at,
                "source_session_id": created.source_session_id,
                "spec": before,
                "note": "as saved before versions were kept",
            },
        )
        latest = 1
    number = (latest or 0) + 1
    conn.execute(
        insert(PlaybookVersion),
        {
            "playbook_id": playbook_id,
            "version": number,
            "created_by": user_id,
            "created_at": now,
            "source_session_id": source_session_id,
            "spec": spec,
            "note": note,
            "idempotency_key": idempotency_key,
        },
    )
    conn.execute(update(Playbook).where(Playbook.id == playbook_id).values(version=number))
    return number


@dataclass(frozen=True)
class Change:
    """One difference between two versions, in words."""

    kind: str
    """``module_added``, ``module_removed``, ``module_renamed``, ``module_moved``, ``task_added``,
    ``task_removed``, ``task_renamed``, ``steps_changed``, ``title_changed``, ``description_changed``."""
    text: str

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return {"kind": self.kind, "text": self.text}


def _pair(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[tuple[int | None, int | None]]:
    """Match items by title, then leftovers at the same position (a rename); the rest are added/removed."""
    pairs: list[tuple[int | None, int | None]] = []
    used_new: set[int] = set()
    unmatched_old: list[int] = []
    by_title: dict[str, list[int]] = {}
    for j, item in enumerate(new):
        by_title.setdefault(str(item.get("title", "")).strip().lower(), []).append(j)
    for i, item in enumerate(old):
        candidates = [
            j for j in by_title.get(str(item.get("title", "")).strip().lower(), []) if j not in used_new
        ]
        if candidates:
            used_new.add(candidates[0])
            pairs.append((i, candidates[0]))
        else:
            unmatched_old.append(i)
    leftover_new = [j for j in range(len(new)) if j not in used_new]
    for i in list(unmatched_old):
        if i in leftover_new:
            pairs.append((i, i))
            leftover_new.remove(i)
            unmatched_old.remove(i)
    pairs += [(i, None) for i in unmatched_old] + [(None, j) for j in leftover_new]
    return pairs


def diff_specs(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """What changed from ``old`` to ``new``: modules and tasks added, removed, renamed, moved."""
    changes: list[Change] = []
    if old.get("title") != new.get("title"):
        changes.append(Change("title_changed", f"Title “{old.get('title')}” → “{new.get('title')}”"))
    if (old.get("description") or "") != (new.get("description") or ""):
        changes.append(Change("description_changed", "The description changed"))
    old_modules, new_modules = list(old.get("modules") or []), list(new.get("modules") or [])
    for i, j in sorted(
        _pair(old_modules, new_modules), key=lambda p: (p[1] if p[1] is not None else 10**6, p[0] or 0)
    ):
        if i is None and j is not None:
            changes.append(Change("module_added", f"Module {j + 1} “{new_modules[j]['title']}” added"))
            continue
        if j is None and i is not None:
            changes.append(Change("module_removed", f"Module “{old_modules[i]['title']}” removed"))
            continue
        assert i is not None and j is not None
        a, b = old_modules[i], new_modules[j]
        if a["title"] != b["title"]:
            changes.append(
                Change("module_renamed", f"Module {j + 1} renamed “{a['title']}” → “{b['title']}”")
            )
        elif i != j and len(old_modules) == len(new_modules):
            changes.append(Change("module_moved", f"Module “{b['title']}” moved from {i + 1} to {j + 1}"))
        old_tasks, new_tasks = list(a.get("tasks") or []), list(b.get("tasks") or [])
        for ti, tj in _pair(old_tasks, new_tasks):
            if ti is None and tj is not None:
                changes.append(
                    Change("task_added", f"Task “{new_tasks[tj]['title']}” added to “{b['title']}”")
                )
            elif tj is None and ti is not None:
                changes.append(
                    Change("task_removed", f"Task “{old_tasks[ti]['title']}” removed from “{b['title']}”")
                )
            elif ti is not None and tj is not None:
                ta, tb = old_tasks[ti], new_tasks[tj]
                if ta["title"] != tb["title"]:
                    changes.append(
                        Change(
                            "task_renamed", f"Task “{ta['title']}” renamed “{tb['title']}” in “{b['title']}”"
                        )
                    )
                steps_a = [s.get("title") for s in ta.get("steps") or []]
                steps_b = [s.get("title") for s in tb.get("steps") or []]
                if steps_a != steps_b:
                    changes.append(Change("steps_changed", f"Steps of “{tb['title']}” changed"))
    return changes


def to_markdown(
    spec: dict[str, Any], *, version: int | None = None, updated_at: datetime | None = None
) -> str:
    """The playbook as Markdown: title, description, numbered modules → tasks → steps."""
    lines = [f"# {spec.get('title') or 'Untitled playbook'}", ""]
    meta = []
    if version is not None:
        meta.append(f"Version {version}")
    if updated_at is not None:
        meta.append(f"updated {updated_at:%Y-%m-%d}")
    if meta:
        lines += [f"_{' · '.join(meta)}_", ""]
    if spec.get("description"):
        lines += [str(spec["description"]), ""]
    for m_number, module in enumerate(spec.get("modules") or [], start=1):
        lines += [f"## {m_number}. {module['title']}", ""]
        if module.get("description"):
            lines += [str(module["description"]), ""]
        for t_number, task in enumerate(module.get("tasks") or [], start=1):
            lines.append(
                f"{t_number}. **{task['title']}**"
                + (f" — {task['description']}" if task.get("description") else "")
            )
            for step in task.get("steps") or []:
                lines.append(
                    f"   - {step['title']}" + (f": {step['description']}" if step.get("description") else "")
                )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
