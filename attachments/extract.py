"""A document's text and structure: every format becomes Markdown, and Markdown becomes an outline.

Each reader turns its format into plain Markdown — headings as ``#``, lists as nested ``1.``/``-``
items, table rows as ``|`` rows — with a well-kept parser for that format:

* PDF: ``pypdf`` (pure Python, no system library); headings are the lines set in a larger font
  than the body text (PDFs carry no heading markup), list items the lines that start with a number
  or a bullet;
* DOCX: ``python-docx`` (Heading/Title styles, list styles and numbering levels, tables);
* XLSX: ``openpyxl`` in read-only mode; CSV: the standard library's ``csv`` — a sheet whose columns
  name a module/phase, a task and a step becomes sections with nested lists;
* HTML: ``BeautifulSoup`` with the standard library's parser (headings, nested lists, tables);
* Markdown and text as they are.

Then one Markdown parser (``markdown-it-py``, CommonMark) reads headings and nested list items into
:class:`Section` objects, and :meth:`Document.outline` picks the heading level that makes modules:
the headings under a single top heading (which becomes the title), else the top headings. A
module's tasks are its list items (their sub-items are steps) and its sub-headings (their items are
steps).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from .errors import DocumentError, DocumentErrorCode
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
MAX_PDF_PAGES = 1_000
MAX_SHEET_ROWS = 20_000
MAX_MODULES = 20
MAX_TASKS = 30
MAX_STEPS = 20

_MODULE_HEADERS = re.compile(
    r"^(?:modules?|phases?|stages?|sections?|areas?|parts?|categor(?:y|ies)|groups?)$", re.I
)
_TASK_HEADERS = re.compile(
    r"^(?:tasks?|activit(?:y|ies)|items?|actions?|to-?dos?|checklist(?: items?)?)$", re.I
)
_STEP_HEADERS = re.compile(r"^(?:steps?|sub-?tasks?|instructions?|details?|how)$", re.I)
_ITEM_LINE = re.compile(r"^(?P<indent>\s*)(?:(?P<num>\d{1,3}|[a-zA-Z])[.)]|[-*•▪◦‣∙·o])\s+(?P<text>\S.*)$")


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
        title, markdown = _READERS[media](data, name)
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


# --- readers: bytes → (title, Markdown) ----------------------------------------------------------


def _read_text(data: bytes, _name: str) -> tuple[str, str]:
    return "", _text_to_markdown(data.decode("utf-8-sig", errors="replace"))


def _read_markdown(data: bytes, _name: str) -> tuple[str, str]:
    return "", data.decode("utf-8-sig", errors="replace")


def _read_csv(data: bytes, _name: str) -> tuple[str, str]:
    text = data.decode("utf-8-sig", errors="replace")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = list(itertools.islice(csv.reader(io.StringIO(text), dialect), MAX_SHEET_ROWS))
    return "", _table_to_markdown(rows)


def _read_xlsx(data: bytes, _name: str) -> tuple[str, str]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        title = str(book.properties.title or "")
        parts: list[str] = []
        budget = MAX_SHEET_ROWS
        sheets = list(book.worksheets)
        for sheet in sheets:
            rows: list[list[str]] = []
            for row in sheet.iter_rows(values_only=True):
                if budget <= 0:
                    break
                budget -= 1
                rows.append(["" if v is None else str(v).strip() for v in row])
            body = _table_to_markdown(rows)
            if body:
                parts.append(body if len(sheets) == 1 else f"# {sheet.title}\n\n{_demote(body)}")
        return title, "\n\n".join(parts)
    finally:
        book.close()


def _read_docx(data: bytes, _name: str) -> tuple[str, str]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(io.BytesIO(data))
    title = str(document.core_properties.title or "")
    lines: list[str] = []
    # Style names by id, once: python-docx's ``paragraph.style`` runs an XPath query per paragraph.
    style_names = {style.style_id: style.name or "" for style in document.styles}
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(child, document)
            text = " ".join(paragraph.text.split())
            if not text:
                continue
            ppr = child.pPr
            style_id = ppr.pStyle.val if ppr is not None and ppr.pStyle is not None else None
            style = style_names.get(style_id, "") if style_id else ""
            level = _docx_list_level(paragraph, style)
            heading = re.match(r"^Heading (\d)$", style)
            if style == "Title":
                title = title or text
                lines += ["", f"# {text}", ""]
            elif heading:
                lines += ["", f"{'#' * min(6, int(heading.group(1)) + (1 if title else 0))} {text}", ""]
            elif level is not None:
                lines.append(
                    f"{'   ' * level}1. {text}" if "Bullet" not in style else f"{'  ' * level}- {text}"
                )
            else:
                lines += ["", text, ""]
        elif tag == "tbl":
            rows = [
                [" ".join(cell.text.split()) for cell in row.cells] for row in Table(child, document).rows
            ]
            lines += ["", _rows_to_markdown(rows), ""]
    return title, "\n".join(lines)


def _docx_list_level(paragraph: Any, style: str) -> int | None:
    ppr = paragraph._p.pPr  # python-docx's public oxml element for paragraph properties
    numpr = ppr.numPr if ppr is not None else None
    if numpr is not None and numpr.ilvl is not None:
        return int(numpr.ilvl.val)
    if numpr is not None:
        return 0
    match = re.match(r"^List (?:Number|Bullet|Paragraph|Continue)(?: (\d))?$", style)
    if match:
        return int(match.group(1) or 1) - 1
    return None


def _read_html(data: bytes, _name: str) -> tuple[str, str]:
    from bs4 import BeautifulSoup, NavigableString, Tag

    soup = BeautifulSoup(data.decode("utf-8-sig", errors="replace"), "html.parser")
    for junk in soup(["script", "style", "noscript", "template", "head"]):
        if junk.name == "head":
            title_tag = junk.find("title")
            soup.attrs["data-title"] = title_tag.get_text(" ", strip=True) if title_tag else ""
        junk.decompose()
    title = str(soup.attrs.get("data-title") or "")
    lines: list[str] = []

    def own_text(tag: Tag) -> str:
        parts = [
            c.get_text(" ", strip=True) if isinstance(c, Tag) else str(c)
            for c in tag.children
            if isinstance(c, NavigableString) or (isinstance(c, Tag) and c.name not in {"ul", "ol"})
        ]
        return " ".join(" ".join(parts).split())

    def walk(node: Tag, depth: int) -> None:
        for child in node.children:
            if not isinstance(child, Tag):
                continue
            name = child.name or ""
            if re.fullmatch(r"h[1-6]", name):
                text = child.get_text(" ", strip=True)
                if text:
                    lines.extend(["", f"{'#' * int(name[1])} {text}", ""])
            elif name in {"ul", "ol"}:
                for li in child.find_all("li", recursive=False):
                    text = own_text(li)
                    if text:
                        lines.append(f"{'   ' * depth}{'1.' if name == 'ol' else '-'} {text}")
                    walk(li, depth + 1)
                if depth == 0:
                    lines.append("")
            elif name == "table":
                rows = [
                    [cell.get_text(" ", strip=True) for cell in tr.find_all(["td", "th"])]
                    for tr in child.find_all("tr")
                ]
                lines.extend(["", _rows_to_markdown(rows), ""])
            elif name in {"p", "blockquote", "pre"} and depth == 0:
                text = " ".join(child.get_text(" ", strip=True).split())
                if text:
                    lines.extend(["", text, ""])
            else:
                walk(child, depth)

    walk(soup, 0)
    return title, "\n".join(lines)


def _read_pdf(data: bytes, name: str) -> tuple[str, str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                opened = bool(reader.decrypt(""))
            except Exception:
                opened = False
            if not opened:
                raise DocumentError(
                    DocumentErrorCode.FILE_UNREADABLE,
                    name,
                    "the PDF is password-protected; attach an unlocked copy",
                )
        pages = reader.pages
        if len(pages) > MAX_PDF_PAGES:
            raise DocumentError(
                DocumentErrorCode.FILE_TOO_LARGE, name, f"the PDF has more than {MAX_PDF_PAGES} pages"
            )
        metadata = reader.metadata
        meta_title = str(metadata.get("/Title") or "") if metadata is not None else ""
    except PdfReadError as exc:
        raise DocumentError(DocumentErrorCode.FILE_UNREADABLE, name, f"the PDF is damaged ({exc})") from None
    lines: list[tuple[str, float]] = []
    for page in pages:
        chunks: list[tuple[str, float]] = []

        def visit(
            text: str, cm: Any, tm: Any, _font: Any, size: Any, out: list[tuple[str, float]] = chunks
        ) -> None:
            scale = abs(float(tm[3]) or float(tm[0]) or 1.0) * abs(float(cm[3]) or float(cm[0]) or 1.0)
            out.append((text, float(size or 0) * scale))

        page.extract_text(visitor_text=visit)
        current, sizes = "", Counter[float]()
        for text, size in chunks:
            for i, part in enumerate(text.split("\n")):
                if i > 0:
                    lines.append((current, _dominant(sizes)))
                    current, sizes = "", Counter()
                current += part
                if part.strip():
                    sizes[round(size, 1)] += len(part.strip())
        lines.append((current, _dominant(sizes)))
    return meta_title, _pdf_lines_to_markdown(lines)


def _dominant(sizes: Counter[float]) -> float:
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _pdf_lines_to_markdown(lines: list[tuple[str, float]]) -> str:
    weights = Counter[float]()
    for text, size in lines:
        if text.strip():
            weights[size] += len(text.strip())
    body = weights.most_common(1)[0][0] if weights else 0.0
    heading_sizes = sorted({s for t, s in lines if t.strip() and body and s >= body * 1.15}, reverse=True)
    level_of = {s: i + 1 for i, s in enumerate(heading_sizes[:5])}
    out: list[str] = []
    for text, size in lines:
        text = " ".join(text.split()) if not _ITEM_LINE.match(text) else text.rstrip()
        if not text.strip():
            out.append("")
        elif size in level_of and not _ITEM_LINE.match(text) and len(text) <= 150:
            out.extend(["", f"{'#' * level_of[size]} {text.strip()}", ""])
        else:
            out.append(text)
    return _text_to_markdown("\n".join(out))


_READERS = {
    MediaType.PDF: _read_pdf,
    MediaType.DOCX: _read_docx,
    MediaType.XLSX: _read_xlsx,
    MediaType.CSV: _read_csv,
    MediaType.MARKDOWN: _read_markdown,
    MediaType.TEXT: _read_text,
    MediaType.HTML: _read_html,
}


# --- shared shapes -------------------------------------------------------------------------------


def _text_to_markdown(text: str) -> str:
    """Plain text as Markdown: numbered/bulleted lines become list items (indent = nesting), and a
    short line that introduces a list ("Preparation:" or "PREPARATION") becomes a heading."""
    raw = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    for i, line in enumerate(raw):
        match = _ITEM_LINE.match(line)
        if line.lstrip().startswith("#"):
            out.append(line.strip())
        elif match:
            depth = len(match.group("indent").expandtabs(4)) // 2
            marker = "1." if match.group("num") else "-"
            out.append(f"{'   ' * min(depth, 3)}{marker} {match.group('text').strip()}")
        elif _looks_like_heading(line, raw[i + 1 :]):
            out.extend(["", f"## {line.strip().rstrip(':').strip()}", ""])
        else:
            out.append(line.strip())
    return "\n".join(out)


def _looks_like_heading(line: str, after: list[str]) -> bool:
    stripped = line.strip()
    if not stripped or len(stripped) > 80 or stripped.endswith((".", ",", ";")):
        return False
    following = next((a for a in after if a.strip()), "")
    if stripped.endswith(":") or (stripped.isupper() and len(stripped) > 3):
        return True
    return bool(_ITEM_LINE.match(following)) and not _ITEM_LINE.match(line) and len(stripped.split()) <= 8


def _table_to_markdown(rows: list[list[str]]) -> str:
    rows = [[c.strip() for c in row] for row in rows if any(c.strip() for c in row)]
    if not rows:
        return ""
    header = [h.strip() for h in rows[0]]
    module_col = next((i for i, h in enumerate(header) if _MODULE_HEADERS.match(h)), None)
    task_col = next((i for i, h in enumerate(header) if _TASK_HEADERS.match(h)), None)
    step_col = next((i for i, h in enumerate(header) if _STEP_HEADERS.match(h)), None)
    named = sum(c is not None for c in (module_col, task_col, step_col))
    if named < 2 and len(header) >= 2 and not any(_TASK_HEADERS.match(h) for h in header):
        return _rows_to_markdown(rows)
    if named < 2:
        module_col, task_col, step_col = 0, 1, 2 if len(header) > 2 else None
    lines: list[str] = []
    module = task = None
    for row in rows[1:]:
        m, t, s = _cell(row, module_col), _cell(row, task_col), _cell(row, step_col)
        if m and m != module:
            module, task = m, None
            lines.extend(["", f"## {m}", ""])
        if t and t != task:
            task = t
            lines.append(f"1. {t}")
        if s:
            lines.append(f"   - {s}")
    return "\n".join(lines)


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def _rows_to_markdown(rows: list[list[str]]) -> str:
    rows = [row for row in rows if any(c.strip() for c in row)]
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    lines = ["| " + " | ".join((r + [""] * width)[:width]).replace("\n", " ") + " |" for r in rows]
    lines.insert(1, "|" + " --- |" * width)
    return "\n".join(lines)


def _demote(markdown: str) -> str:
    return re.sub(r"^(#{1,5}) ", r"#\1 ", markdown, flags=re.M)


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
