"""The vendor's policies and templates: Markdown files in ``<POLICIES_DIR>/<vendor_id>/``.

A document's name is its file name without ``.md``; its title is its first ``#`` heading (else
the name). Names are checked against a strict pattern and resolved inside the vendor's folder,
so no name reaches another vendor's folder or anything else on disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_runtime.library.store import words

__all__ = ["PolicyFolder", "PolicyDoc"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_MAX_CHARS = 20_000


@dataclass(frozen=True)
class PolicyDoc:
    """One policy or template."""

    name: str
    title: str
    summary: str
    sections: list[str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (no body)."""
        return {"name": self.name, "title": self.title, "summary": self.summary, "sections": self.sections}


class PolicyFolder:
    """The Markdown documents of one vendor."""

    def __init__(self, root: Path, vendor_id: int) -> None:
        """Bind to ``<root>/<vendor_id>`` (it need not exist: then there are no documents)."""
        self.folder = (root / str(vendor_id)).resolve()

    def _files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.glob("*.md") if p.is_file() and _NAME.match(p.stem))

    def list(self, query: str = "") -> list[PolicyDoc]:
        """Documents matching ``query`` (all when empty), best first."""
        wanted = words(query)
        docs: list[tuple[int, PolicyDoc]] = []
        for path in self._files():
            doc = _describe(path, path.read_text(encoding="utf-8", errors="replace"))
            score = len(wanted & (words(doc.name.replace("-", " ")) | words(doc.title) | words(doc.summary)))
            if wanted and score == 0:
                continue
            docs.append((score, doc))
        docs.sort(key=lambda item: (-item[0], item[1].name))
        return [doc for _, doc in docs]

    def read(self, name: str) -> dict[str, Any] | None:
        """One document with its Markdown body (``None``: no such document for this vendor)."""
        name = name.strip().removesuffix(".md")
        if not _NAME.match(name):
            return None
        path = (self.folder / f"{name}.md").resolve()
        if path.parent != self.folder or not path.is_file():
            return None
        text = path.read_text(encoding="utf-8", errors="replace")
        doc = _describe(path, text)
        return {**doc.to_dict(), "markdown": text[:_MAX_CHARS]}


def _describe(path: Path, text: str) -> PolicyDoc:
    title = path.stem
    summary = ""
    sections: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# ") and title == path.stem:
            title = stripped[2:].strip()
        elif stripped.startswith("## "):
            sections.append(stripped[3:].strip())
        elif stripped and not stripped.startswith("#") and not summary:
            summary = stripped[:300]
    return PolicyDoc(path.stem, title, summary, sections)
