"""What a file is, decided by its content (magic numbers, the parts inside an Office archive), not by
its name alone — and whether its name and its content agree.

The supported types are few and their signatures well defined, so this uses the formats' own
signatures with the standard library's :mod:`zipfile` rather than a general ``libmagic`` binding:
``%PDF-`` for PDF (ISO 32000 §7.5.2), a ZIP local header with ``word/document.xml`` or
``xl/workbook.xml`` inside for DOCX/XLSX (ECMA-376 Part 2), and strict UTF-8 without NUL for the
text formats, told apart by extension and shape.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from enum import StrEnum
from pathlib import PurePosixPath

from .errors import DocumentError, DocumentErrorCode

__all__ = [
    "MEDIA_TYPES",
    "MediaType",
    "ZIP_MAX_ENTRIES",
    "ZIP_MAX_UNPACKED_BYTES",
    "check_name",
    "inspect",
    "sniff",
]

ZIP_MAX_ENTRIES = 2_000
"""An Office file with more parts than this is refused (a zip bomb's many-entries form)."""
ZIP_MAX_UNPACKED_BYTES = 100 * 1024 * 1024
"""An Office file that would unpack to more than this is refused (a zip bomb)."""
ZIP_MAX_RATIO = 200
"""A part compressed more than this (and over 1 MB unpacked) is refused: documents don't do that."""
MAX_NAME_CHARS = 255


class MediaType(StrEnum):
    """The attachment types the product reads."""

    PDF = "application/pdf"
    DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    CSV = "text/csv"
    MARKDOWN = "text/markdown"
    TEXT = "text/plain"
    HTML = "text/html"


MEDIA_TYPES: dict[MediaType, tuple[str, ...]] = {
    MediaType.PDF: (".pdf",),
    MediaType.DOCX: (".docx",),
    MediaType.XLSX: (".xlsx",),
    MediaType.CSV: (".csv",),
    MediaType.MARKDOWN: (".md", ".markdown"),
    MediaType.TEXT: (".txt", ".text"),
    MediaType.HTML: (".html", ".htm"),
}
"""Each type and the file extensions that name it."""

_BY_EXTENSION = {ext: media for media, exts in MEDIA_TYPES.items() for ext in exts}
_TEXT_TYPES = {MediaType.CSV, MediaType.MARKDOWN, MediaType.TEXT, MediaType.HTML}
_LABEL = {
    MediaType.PDF: "a PDF",
    MediaType.DOCX: "a Word document",
    MediaType.XLSX: "an Excel workbook",
    MediaType.CSV: "a CSV file",
    MediaType.MARKDOWN: "a Markdown file",
    MediaType.TEXT: "a text file",
    MediaType.HTML: "an HTML page",
}


def check_name(name: str) -> str:
    """The file name, stripped, or :class:`DocumentError` ``INVALID_FILE_NAME``.

    Refused: empty names, path separators, ``..``, control and format characters, over 255 chars.
    """
    shown = "".join(c if unicodedata.category(c)[0] != "C" else "?" for c in (name or ""))[:80]
    stripped = (name or "").strip()
    if not stripped:
        raise DocumentError(DocumentErrorCode.INVALID_FILE_NAME, "", "the file has no name")
    if len(stripped) > MAX_NAME_CHARS:
        raise DocumentError(DocumentErrorCode.INVALID_FILE_NAME, shown, "the file name is too long")
    if "/" in stripped or "\\" in stripped or stripped in {".", ".."}:
        raise DocumentError(
            DocumentErrorCode.INVALID_FILE_NAME, shown, "the file name must not contain a path (/ or \\)"
        )
    if any(unicodedata.category(c) in {"Cc", "Cf", "Cs", "Co", "Cn"} for c in stripped):
        raise DocumentError(
            DocumentErrorCode.INVALID_FILE_NAME, shown, "the file name contains control characters"
        )
    return stripped


def sniff(data: bytes, name: str) -> MediaType:
    """The file's type from its content, checked against its extension.

    Raises:
        DocumentError: ``FILE_EMPTY``, ``UNSUPPORTED_FILE_TYPE`` (unknown content, or content that does
            not match the extension), ``FILE_UNREADABLE`` (an Office archive that would unpack too large).
    """
    if not data or not data.strip():
        raise DocumentError(DocumentErrorCode.FILE_EMPTY, name, "the file is empty")
    claimed = _BY_EXTENSION.get(PurePosixPath(name.lower()).suffix)
    found = _content_type(data, name, claimed)
    if found is None:
        raise DocumentError(
            DocumentErrorCode.UNSUPPORTED_FILE_TYPE,
            name,
            "this type of file can't be read — attach a PDF, Word (.docx), Excel (.xlsx), CSV, Markdown, "
            "text or HTML file",
        )
    if claimed is not None and claimed != found and not (claimed in _TEXT_TYPES and found in _TEXT_TYPES):
        raise DocumentError(
            DocumentErrorCode.UNSUPPORTED_FILE_TYPE,
            name,
            f"its content is {_LABEL[found]}, not {_LABEL[claimed]} as its name says",
        )
    return claimed if claimed in _TEXT_TYPES and found in _TEXT_TYPES else found


def inspect(data: bytes, name: str, *, max_bytes: int) -> MediaType:
    """Everything the web app checks before it keeps a file: name, size, type by content, readability.

    Readability is proved by reading the whole file the way the runtime will
    (:func:`attachments.extract.extract`), so an encrypted or damaged PDF, a corrupt DOCX/XLSX or a
    zip bomb is refused here, before any turn runs.

    Raises:
        DocumentError: the file is refused; its ``code`` and ``message`` say why.
    """
    from .extract import extract  # the heavier parsers load only when a file is checked

    name = check_name(name)
    if len(data) > max_bytes:
        raise DocumentError(
            DocumentErrorCode.FILE_TOO_LARGE, name, f"the file is larger than {max_bytes // (1024 * 1024)} MB"
        )
    media = sniff(data, name)
    extract(data, media, name=name)
    return media


def _content_type(data: bytes, name: str, claimed: MediaType | None) -> MediaType | None:
    head = data[:1024]
    if b"%PDF-" in head:
        return MediaType.PDF
    if data.startswith(b"PK\x03\x04"):
        return _office_type(data, name)
    if b"\x00" in data[:65536]:
        return None  # binary, and not a type we read
    try:
        text = data[:65536].decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < 65536 - 4:  # not merely a multi-byte character cut at the sample's end
            return None
        text = data[: exc.start].decode("utf-8-sig")
    if claimed in _TEXT_TYPES:
        return claimed  # text of any shape reads as what its extension says
    lowered = text.lstrip().lower()
    if lowered.startswith(("<!doctype html", "<html")) or "<body" in lowered[:4096]:
        return MediaType.HTML
    return MediaType.MARKDOWN if any(line.startswith("#") for line in text.splitlines()) else MediaType.TEXT


def _office_type(data: bytes, name: str) -> MediaType | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > ZIP_MAX_ENTRIES:
                raise DocumentError(
                    DocumentErrorCode.FILE_UNREADABLE,
                    name,
                    f"the archive has more than {ZIP_MAX_ENTRIES} parts",
                )
            unpacked = sum(i.file_size for i in infos)
            if unpacked > ZIP_MAX_UNPACKED_BYTES or any(
                i.file_size > 1024 * 1024 and i.file_size > ZIP_MAX_RATIO * max(i.compress_size, 1)
                for i in infos
            ):
                raise DocumentError(
                    DocumentErrorCode.FILE_UNREADABLE,
                    name,
                    "the file would unpack far too large (a zip bomb?)",
                )
            names = {i.filename for i in infos}
    except zipfile.BadZipFile:
        raise DocumentError(
            DocumentErrorCode.FILE_UNREADABLE, name, "the file is damaged (a broken archive)"
        ) from None
    if "word/document.xml" in names:
        return MediaType.DOCX
    if "xl/workbook.xml" in names:
        return MediaType.XLSX
    return None
