"""Readers: a file's bytes → ``(title, Markdown)``, one per format, each with a well-kept parser.

Each reader turns its format into plain Markdown — headings as ``#``, lists as nested ``1.``/``-``
items, table rows as ``|`` rows:

* PDF: ``pypdf`` (pure Python, no system library); headings are the lines set in a larger font
  than the body text (PDFs carry no heading markup), list items the lines that start with a number
  or a bullet;
* DOCX: ``python-docx`` (Heading/Title styles, list styles and numbering levels, tables);
* XLSX: ``openpyxl`` in read-only mode; CSV: the standard library's ``csv`` — a sheet whose columns
  name a module/phase, a task and a step becomes sections with nested lists;
* HTML: ``BeautifulSoup`` with the standard library's parser (headings, nested lists, tables);
* Markdown and text as they are.

:mod:`attachments.extract` calls them through :data:`READERS` and reads the Markdown's structure.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections import Counter
from typing import Any

from .errors import DocumentError, DocumentErrorCode
from .sniff import MediaType

__all__ = ["READERS"]

MAX_PDF_PAGES = 1_000
MAX_SHEET_ROWS = 20_000

_MODULE_HEADERS = re.compile(
    r"^(?:modules?|phases?|stages?|sections?|areas?|parts?|categor(?:y|ies)|groups?)$", re.I
)
_TASK_HEADERS = re.compile(
    r"^(?:tasks?|activit(?:y|ies)|items?|actions?|to-?dos?|checklist(?: items?)?)$", re.I
)
_STEP_HEADERS = re.compile(r"^(?:steps?|sub-?tasks?|instructions?|details?|how)$", re.I)
_ITEM_LINE = re.compile(r"^(?P<indent>\s*)(?:(?P<num>\d{1,3}|[a-zA-Z])[.)]|[-*•▪◦‣∙·o])\s+(?P<text>\S.*)$")


# --- one reader per format ----------------------------------------------------------


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


READERS = {
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
