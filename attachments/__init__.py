"""Attached documents: what a file is (by its content), whether it is safe, and its structure.

Shared by both processes (issue 12): the web app recognises and checks every file before anything
reaches the runtime (:func:`inspect`), and the runtime turns the bytes it receives into Markdown and an
outline for the model (:func:`extract`). Blobs live once per vendor and content hash in a
:class:`~attachments.store.BlobStore` (a local folder or S3).

This package imports neither ``webapp`` nor ``agent_runtime``; both import it.
"""

from __future__ import annotations

from .errors import DocumentError, DocumentErrorCode
from .extract import Document, OutlineModule, OutlineTask, Section, extract, outline_from_markdown
from .sniff import MEDIA_TYPES, MediaType, check_name, inspect, sniff

__all__ = [
    "MEDIA_TYPES",
    "Document",
    "DocumentError",
    "DocumentErrorCode",
    "MediaType",
    "OutlineModule",
    "OutlineTask",
    "Section",
    "check_name",
    "extract",
    "inspect",
    "outline_from_markdown",
    "sniff",
]
