"""A document's text and structure: every format becomes Markdown, and Markdown becomes an outline.

The readers of :mod:`attachments.readers` turn each format into plain Markdown (headings as ``#``,
lists as nested ``1.``/``-`` items, table rows as ``|`` rows). Then one Markdown parser
(``markdown-it-py``, CommonMark) reads headings and nested list items into :class:`Section` objects,
and :meth:`Document.outline` picks the heading level that makes modules: the headings under a single
top heading (which becomes the title), else the top headings. A module's tasks are its list items
(their sub-items are steps) and its sub-headings (their items are steps).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from .errors import DocumentError, DocumentErrorCode
from .readers import READERS
from .sniff import MediaType

__all__ = [
    "MAX_MARKDOWN_CHARS",
    "Document",
    "OutlineModule",
    "OutlineTask",
    "Section",
    "extract",
    "outline_from_markdown",
]

MAX_MARKDOWN_CHARS = 40_000
"""The Markdown a model is shown of one file (the outline is read from all of it)."""
MAX_SOURCE_CHARS = 2_000_000
MAX_MODULES = 20
MAX_TASKS = 30
MAX_STEPS = 20


@dataclass
class Item:
    """A list item and the items nested in it."""

    text: str
    children: list[str] = field(default_factory=list)


@dataclass
class Section:
    """A heading, its level (1–6), and what stands under it before the next heading."""

    heading: str
    level: int
    items: list[Item] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)


@dataclass
class OutlineTask:
    """A task drawn from the document, with its steps."""

    title: str
    steps: list[str] = field(default_factory=list)


@dataclass
class OutlineModule:
    """A module drawn from the document: a heading, a line that describes it, its tasks."""

    title: str
    description: str = ""
    tasks: list[OutlineTask] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (what the model's context carries)."""
        return {
            "title": self.title,
            "description": self.description,
            "tasks": [{"title": t.title, "steps": list(t.steps)} for t in self.tasks],
        }


@dataclass
class Document:
    """A read document: its title, its Markdown (capped for a prompt) and its sections."""

    name: str
    media_type: MediaType
    title: str
    markdown: str
    sections: list[Section]
    truncated: bool = False

    def outline(self) -> list[OutlineModule]:
        """The modules the document's structure suggests (empty when it has no usable headings)."""
        return _outline(self.sections)

    def frequent_phrases(self, limit: int = 6) -> list[str]:
        """The document's most frequent two-word phrases (for a document with no structure)."""
        return _frequent_phrases(self.markdown, limit)


def extract(data: bytes, media_type: MediaType | str, *, name: str = "") -> Document:
    """Read a file of a known type.

    Raises:
        DocumentError: ``FILE_UNREADABLE`` for a corrupt or encrypted file, ``FILE_EMPTY`` when it
            holds no text.
    """
    media = MediaType(media_type)
    try:
        title, markdown = READERS[media](data, name)
    except DocumentError:
        raise
    except Exception as exc:  # each parser has its own error types; all mean "damaged"
        raise DocumentError(
            DocumentErrorCode.FILE_UNREADABLE,
            name,
            f"the file is damaged and can't be read ({type(exc).__name__})",
        ) from None
    markdown = markdown.strip()[:MAX_SOURCE_CHARS]
    if not markdown:
        raise DocumentError(DocumentErrorCode.FILE_EMPTY, name, "the file has no text to read")
    sections = parse_sections(markdown)
    if not title:
        top = min((s.level for s in sections), default=1)
        tops = [s for s in sections if s.level == top]
        title = tops[0].heading if len(tops) == 1 and len(sections) > 1 else _title_from_name(name)
    shown, truncated = _cap(markdown, MAX_MARKDOWN_CHARS)
    return Document(name, media, title.strip()[:200], shown, sections, truncated)


def outline_from_markdown(markdown: str) -> list[OutlineModule]:
    """The outline of a Markdown text (a document section a builder is shown)."""
    return _outline(parse_sections(markdown))


def _title_from_name(name: str) -> str:
    stem = PurePosixPath(name).stem if name else ""
    words = re.sub(r"[_\-.]+", " ", stem).split()
    return " ".join(w if w.isupper() else w.capitalize() for w in words) or "Attached document"


def _cap(markdown: str, limit: int) -> tuple[str, bool]:
    if len(markdown) <= limit:
        return markdown, False
    cut = markdown.rfind("\n", 0, limit)
    return markdown[
        : cut if cut > limit // 2 else limit
    ].rstrip() + "\n\n[… the rest of the file is not shown]", True


# --- Markdown → sections → outline ---------------------------------------------------------------


def parse_sections(markdown: str) -> list[Section]:
    """Headings and nested list items of a Markdown text, in order (CommonMark, via markdown-it-py).

    Text before the first heading forms a section with an empty heading and level 0.
    """
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    sections = [Section("", 0)]
    depth = 0
    pending_heading: int | None = None
    in_item_para = False
    for token in tokens:
        kind = token.type
        if kind == "heading_open":
            pending_heading = int(token.tag[1])
        elif kind == "inline" and pending_heading is not None:
            sections.append(Section(" ".join(token.content.split()), pending_heading))
            pending_heading = None
        elif kind in {"bullet_list_open", "ordered_list_open"}:
            depth += 1
        elif kind in {"bullet_list_close", "ordered_list_close"}:
            depth -= 1
        elif kind == "list_item_open":
            in_item_para = True
        elif kind == "inline" and in_item_para:
            text = _plain(token.content)
            section = sections[-1]
            if text and depth <= 1:
                section.items.append(Item(text))
            elif text and section.items:
                section.items[-1].children.append(text)
            elif text:
                section.items.append(Item(text))
            in_item_para = False
        elif kind == "inline" and depth == 0:
            text = _plain(token.content)
            if text and not text.startswith("|"):
                sections[-1].paragraphs.append(text)
    return [s for s in sections if s.heading or s.items or s.paragraphs]


def _plain(text: str) -> str:
    text = re.sub(r"[*_`]{1,3}([^*_`]+)[*_`]{1,3}", r"\1", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    return " ".join(text.split())


def _outline(sections: list[Section]) -> list[OutlineModule]:
    headed = [s for s in sections if s.heading]
    if not headed:
        return []
    top = min(s.level for s in headed)
    tops = [s for s in headed if s.level == top]
    module_level = top
    if len(tops) == 1 and any(s.level > top for s in headed):
        module_level = min(s.level for s in headed if s.level > top)
    modules: list[OutlineModule] = []
    current: OutlineModule | None = None
    for section in headed:
        if section.level < module_level:
            continue
        if section.level == module_level:
            current = OutlineModule(_clip(section.heading), _clip(" ".join(section.paragraphs[:1]), 300))
            current.tasks.extend(_tasks(section.items))
            modules.append(current)
        elif current is not None:
            steps = [s for item in section.items for s in [item.text, *item.children]] or section.paragraphs[
                :3
            ]
            current.tasks.append(OutlineTask(_clip(section.heading), [_clip(s) for s in steps[:MAX_STEPS]]))
    for module in modules:
        module.tasks = module.tasks[:MAX_TASKS]
    return modules[:MAX_MODULES] if len(modules) >= 2 else []


def _tasks(items: list[Item]) -> list[OutlineTask]:
    return [OutlineTask(_clip(i.text), [_clip(c) for c in i.children[:MAX_STEPS]]) for i in items]


def _clip(text: str, limit: int = 200) -> str:
    text = " ".join(text.split()).rstrip(":")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_STOP = frozenset(
    "a an and are as at be by for from has have in is it its of on or our that the their this to was "
    "we were will with you your all any each every should must can may not no yes if then than into out "
    "up so do does done per via also more most other such".split()
)


_VERBS = frozenset(
    "covers cover covered includes include included follows follow followed happens happen goes go gets get "
    "makes make needs need uses use takes take sends send shares share keeps keep runs run starts start "
    "ends end says say means mean becomes become comes come gives give lets let".split()
)


def _not_a_noun(word: str) -> bool:
    """A rough filter for phrase words: stop words, common verbs, past participles and adverbs."""
    low = word.lower()
    return low in _STOP or low in _VERBS or low.endswith(("ed", "ly"))


def _frequent_phrases(text: str, limit: int) -> list[str]:
    words = re.findall(r"[A-Za-z][A-Za-z'-]{2,}", text)
    counts: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for a, b in itertools.pairwise(words):
        if _not_a_noun(a) or _not_a_noun(b):
            continue
        key = f"{a.lower()} {b.lower()}"
        counts[key] += 1
        shown.setdefault(key, f"{a} {b}")
    phrases = [shown[k] for k, n in counts.most_common(limit * 3) if n >= 1]
    if len(phrases) < limit:
        singles = Counter(w.lower() for w in words if w.lower() not in _STOP and len(w) > 3)
        phrases += [w for w, _ in singles.most_common(limit) if all(w not in p.lower() for p in phrases)]
    picked: list[str] = []
    for phrase in phrases:
        if not any(set(phrase.lower().split()) & set(p.lower().split()) for p in picked):
            picked.append(phrase)
        if len(picked) == limit:
            break
    return [" ".join(w.capitalize() for w in p.split()) for p in picked]
