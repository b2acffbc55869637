"""A chat turn's attached documents, as the agents see them (issue 12).

The web app has already checked every file; here the runtime gets each one's bytes — inline in the
payload, or from the attachment store at ``<the verified token's vendor>/<sha256>`` (never a path
or a vendor the payload names) — reads it (:func:`attachments.extract`) and keeps what the agents
need on the session:

* the orchestrator's system prompt lists the session's documents and shows this turn's as Markdown
  (capped), and its JSON context carries their outlines (the offline model plans from those);
* a module builder is shown the part of a document whose heading matches its module;
* with Bedrock, the turn's message also carries each file as a ``document`` content block in one of
  Bedrock's formats, so Claude reads the original (tables, layout) as well as the extraction.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from dataclasses import dataclass
from typing import Any

from agent_runtime.contract import AttachmentRef, ErrorCode
from agent_runtime.errors import RunFault
from attachments import DocumentError, MediaType, extract
from attachments.extract import MAX_MARKDOWN_CHARS, outline_from_markdown
from attachments.store import BlobMissing, BlobStore, sha256_hex

__all__ = [
    "KEPT_DOCUMENTS",
    "TurnDocument",
    "bedrock_blocks",
    "load_documents",
    "prompt_section",
    "source_for_module",
]

logger = logging.getLogger(__name__)

KEPT_DOCUMENTS = 10
"""Documents a session remembers (the latest), for builders and later turns."""
_PROMPT_CHARS = 60_000
"""This turn's documents shown to the orchestrator, all together."""
_BEDROCK_FORMATS = {
    MediaType.PDF: "pdf",
    MediaType.DOCX: "docx",
    MediaType.XLSX: "xlsx",
    MediaType.CSV: "csv",
    MediaType.HTML: "html",
    MediaType.TEXT: "txt",
    MediaType.MARKDOWN: "md",
}
_BEDROCK_MAX_BYTES = 4_500_000  # Bedrock's per-document limit


@dataclass(frozen=True)
class TurnDocument:
    """One attached file of this turn: its bytes and what was read from it."""

    ref: AttachmentRef
    data: bytes
    record: dict[str, Any]
    """What the session keeps: ``{file_id, name, media_type, title, outline, markdown, truncated}``."""


def load_documents(refs: list[AttachmentRef], vendor_id: int, store: BlobStore | None) -> list[TurnDocument]:
    """Fetch and read a turn's files.

    Raises:
        RunFault: ``FILE_NOT_FOUND`` when a referenced blob is missing (or does not match its hash),
            ``FILE_UNREADABLE`` (or the reader's code) when a file can't be read.
    """
    documents = []
    for ref in refs:
        data = _bytes_of(ref, vendor_id, store)
        try:
            document = extract(data, ref.media_type, name=ref.name)
        except DocumentError as exc:
            raise RunFault(exc.message, code=str(exc.code)) from None
        record = {
            "file_id": ref.file_id,
            "name": ref.name,
            "media_type": ref.media_type,
            "title": document.title,
            "outline": [m.to_dict() for m in document.outline()],
            "phrases": document.frequent_phrases() if not document.outline() else [],
            "markdown": document.markdown,
            "truncated": document.truncated,
        }
        documents.append(TurnDocument(ref, data, record))
        logger.info(
            "file_id=<%s>, media_type=<%s>, size=<%d>, modules=<%d> | attachment read",
            ref.file_id,
            ref.media_type,
            ref.size,
            len(document.outline()),
        )
    return documents


def _bytes_of(ref: AttachmentRef, vendor_id: int, store: BlobStore | None) -> bytes:
    if ref.data is not None:
        try:
            data = base64.b64decode(ref.data, validate=True)
        except (binascii.Error, ValueError):
            raise RunFault(
                f"“{ref.name}”: the inline data is not base64", code=ErrorCode.INVALID_PAYLOAD
            ) from None
    elif store is None:
        raise RunFault(f"“{ref.name}”: no attachment store is configured", code=ErrorCode.FILE_NOT_FOUND)
    else:
        try:
            data = store.get(vendor_id, ref.sha256)
        except BlobMissing:
            raise RunFault(
                f"“{ref.name}”: the file is not in the attachment store", code=ErrorCode.FILE_NOT_FOUND
            ) from None
    if sha256_hex(data) != ref.sha256 or len(data) != ref.size:
        raise RunFault(f"“{ref.name}”: the file does not match its hash", code=ErrorCode.FILE_NOT_FOUND)
    return data


def remember(kept: list[dict[str, Any]], documents: list[TurnDocument]) -> list[dict[str, Any]]:
    """The session's documents after this turn: the newest :data:`KEPT_DOCUMENTS`, one per file id."""
    fresh = {d.record["file_id"] for d in documents}
    merged = [k for k in kept if k.get("file_id") not in fresh] + [d.record for d in documents]
    return merged[-KEPT_DOCUMENTS:]


def prompt_section(kept: list[dict[str, Any]], documents: list[TurnDocument]) -> str:
    """The orchestrator's "Attached documents" section: every kept document by name, this turn's in full."""
    if not kept and not documents:
        return ""
    now = {d.record["file_id"] for d in documents}
    lines = ["## Attached documents"]
    for record in kept:
        marker = " (attached with this message)" if record.get("file_id") in now else ""
        lines.append(f"- {record['name']} — “{record['title']}”{marker}")
    room = _PROMPT_CHARS
    for document in documents:
        body = document.record["markdown"][: max(0, room)]
        room -= len(body)
        lines += [
            "",
            f'<document name="{_attr(document.ref.name)}" type="{document.ref.media_type}">',
            body,
            "</document>",
        ]
    lines += [
        "",
        "Build from the documents' own structure: their headings are the modules, their lists the tasks "
        "and steps. Say which document you used.",
    ]
    return "\n".join(lines)


def context_attachments(documents: list[TurnDocument]) -> list[dict[str, Any]]:
    """This turn's documents for the JSON context: name, title, outline, or frequent phrases."""
    return [
        {
            "name": d.record["name"],
            "title": d.record["title"],
            "outline": d.record["outline"],
            "phrases": d.record["phrases"],
        }
        for d in documents
    ]


def source_for_module(kept: list[dict[str, Any]], title: str) -> dict[str, Any] | None:
    """The part of a kept document whose heading is this module's title (or closest to it)."""
    wanted = _words(title)
    best: tuple[float, dict[str, Any], dict[str, Any]] | None = None
    for record in reversed(kept):
        for module in record.get("outline") or []:
            have = _words(str(module.get("title", "")))
            if not have or not wanted:
                continue
            score = len(wanted & have) / len(wanted | have)
            if score >= 0.5 and (best is None or score > best[0]):
                best = (score, record, module)
    if best is None:
        return None
    _, record, module = best
    section = _section_markdown(str(record.get("markdown", "")), str(module["title"]))
    return {
        "document": record["name"],
        "heading": module["title"],
        "tasks": module.get("tasks") or [],
        "markdown": section,
    }


def outline_of_section(markdown: str) -> list[dict[str, Any]]:
    """A section's tasks and steps, read back from its Markdown."""
    return [m.to_dict() for m in outline_from_markdown(markdown)]


def bedrock_blocks(documents: list[TurnDocument]) -> list[dict[str, Any]]:
    """Bedrock ``document`` content blocks for this turn's files (those in its formats and size)."""
    blocks = []
    for document in documents[:5]:
        fmt = _BEDROCK_FORMATS.get(MediaType(document.ref.media_type))
        if fmt is None or len(document.data) > _BEDROCK_MAX_BYTES:
            continue
        blocks.append(
            {
                "document": {
                    "format": fmt,
                    "name": _bedrock_name(document.ref.name),
                    "source": {"bytes": document.data},
                }
            }
        )
    return blocks


def _bedrock_name(name: str) -> str:
    """Bedrock allows letters, digits, single spaces, hyphens, parentheses and brackets."""
    stem = name.rsplit(".", 1)[0]
    cleaned = re.sub(r"[^A-Za-z0-9\-()\[\] ]+", " ", stem)
    return re.sub(r"\s+", " ", cleaned).strip()[:100] or "document"


def _section_markdown(markdown: str, heading: str) -> str:
    lines = markdown.splitlines()
    start = next(
        (i for i, line in enumerate(lines) if line.lstrip("#").strip() == heading and line.startswith("#")),
        None,
    )
    if start is None:
        return ""
    level = len(lines[start]) - len(lines[start].lstrip("#"))
    end = next(
        (
            j
            for j in range(start + 1, len(lines))
            if lines[j].startswith("#") and len(lines[j]) - len(lines[j].lstrip("#")) <= level
        ),
        len(lines),
    )
    return "\n".join(lines[start:end])[: MAX_MARKDOWN_CHARS // 4]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2 or w.isdigit()}


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
