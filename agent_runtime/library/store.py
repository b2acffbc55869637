"""Read-only access to the vendor's saved playbooks with SQLAlchemy Core.

The table shapes mirror the web app's (``or_playbook`` → ``or_module`` → ``or_task`` →
``or_task_step``) but are declared here on their own: the runtime never imports ``webapp``.
Every query is scoped by the vendor the store was opened for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    select,
)

__all__ = ["PlaybookStore", "PlaybookHit"]

_metadata = MetaData()
playbooks = Table(
    "or_playbook",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("vendor_id", Integer),
    Column("title", String(200)),
    Column("description", Text),
)
modules = Table(
    "or_module",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("playbook_id", Integer, ForeignKey("or_playbook.id")),
    Column("position", Integer),
    Column("title", String(200)),
    Column("description", Text),
)
tasks = Table(
    "or_task",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("module_id", Integer, ForeignKey("or_module.id")),
    Column("position", Integer),
    Column("title", String(200)),
    Column("description", Text),
)
steps = Table(
    "or_task_step",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("task_id", Integer, ForeignKey("or_task.id")),
    Column("position", Integer),
    Column("title", String(200)),
    Column("description", Text),
)

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    {"a", "an", "and", "the", "of", "for", "our", "to", "in", "on", "with", "playbook", "playbooks"}
)
_SCAN_LIMIT = 500


def words(text: str) -> set[str]:
    """Lower-case content words of ``text`` (stop words and the word "playbook" dropped)."""
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


@dataclass(frozen=True)
class PlaybookHit:
    """One search result."""

    playbook_id: int
    title: str
    description: str
    modules: list[str]
    score: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "playbook_id": self.playbook_id,
            "title": self.title,
            "description": self.description,
            "modules": self.modules,
            "score": round(self.score, 3),
        }


class PlaybookStore:
    """The saved playbooks of one vendor."""

    def __init__(self, engine: Engine, vendor_id: int) -> None:
        """Bind to a database and a vendor."""
        self._engine = engine
        self.vendor_id = vendor_id

    @classmethod
    def from_url(cls, url: str, vendor_id: int) -> PlaybookStore:
        """Open ``url`` (``DATABASE_URL``) for ``vendor_id``; connects lazily."""
        return cls(create_engine(url, pool_pre_ping=True), vendor_id)

    def search(self, query: str, limit: int) -> list[PlaybookHit]:
        """The vendor's playbooks that best match ``query`` (title, description, module titles)."""
        wanted = words(query)
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(playbooks.c.id, playbooks.c.title, playbooks.c.description)
                .where(playbooks.c.vendor_id == self.vendor_id)
                .order_by(playbooks.c.id.desc())
                .limit(_SCAN_LIMIT)
            ).all()
            ids = [row.id for row in rows]
            titles: dict[int, list[str]] = {i: [] for i in ids}
            if ids:
                for mod in conn.execute(
                    select(modules.c.playbook_id, modules.c.title)
                    .where(modules.c.playbook_id.in_(ids))
                    .order_by(modules.c.playbook_id, modules.c.position)
                ):
                    titles[mod.playbook_id].append(mod.title)
        hits: list[PlaybookHit] = []
        for row in rows:
            title_words = words(row.title)
            other = words(row.description or "") | words(" ".join(titles[row.id]))
            if wanted:
                score = (2 * len(wanted & title_words) + len(wanted & other)) / (2 * len(wanted))
                if score <= 0:
                    continue
            else:
                score = 0.0
            hits.append(PlaybookHit(row.id, row.title, row.description or "", titles[row.id], score))
        hits.sort(key=lambda h: (-h.score, -h.playbook_id))
        return hits[:limit]

    def read(self, playbook_id: int) -> dict[str, Any] | None:
        """One of the vendor's playbooks with its modules, tasks and steps (``None``: not the vendor's)."""
        with self._engine.connect() as conn:
            head = conn.execute(
                select(playbooks.c.id, playbooks.c.title, playbooks.c.description).where(
                    playbooks.c.id == playbook_id, playbooks.c.vendor_id == self.vendor_id
                )
            ).first()
            if head is None:
                return None
            mods = conn.execute(
                select(modules.c.id, modules.c.title, modules.c.description)
                .where(modules.c.playbook_id == head.id)
                .order_by(modules.c.position)
            ).all()
            task_rows = conn.execute(
                select(tasks.c.id, tasks.c.module_id, tasks.c.title, tasks.c.description)
                .where(tasks.c.module_id.in_([m.id for m in mods] or [-1]))
                .order_by(tasks.c.module_id, tasks.c.position)
            ).all()
            step_rows = conn.execute(
                select(steps.c.task_id, steps.c.title, steps.c.description)
                .where(steps.c.task_id.in_([t.id for t in task_rows] or [-1]))
                .order_by(steps.c.task_id, steps.c.position)
            ).all()
        by_task: dict[int, list[dict[str, str]]] = {}
        for step in step_rows:
            by_task.setdefault(step.task_id, []).append(
                {"title": step.title, "description": step.description or ""}
            )
        by_module: dict[int, list[dict[str, Any]]] = {}
        for task in task_rows:
            by_module.setdefault(task.module_id, []).append(
                {
                    "title": task.title,
                    "description": task.description or "",
                    "steps": by_task.get(task.id, []),
                }
            )
        return {
            "playbook_id": head.id,
            "title": head.title,
            "description": head.description or "",
            "modules": [
                {"title": m.title, "description": m.description or "", "tasks": by_module.get(m.id, [])}
                for m in mods
            ],
        }
