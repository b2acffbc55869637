"""Keeping attached files and handing a turn's files to the runtime.

A file is checked in full (:func:`attachments.inspect`: name, size, type by content, readability —
an encrypted PDF or a zip bomb is refused here) before anything is stored; its bytes go once per
vendor and content hash into the attachment store, and each upload is an ``attachment`` row and an
``attachment.upload`` audit row. A chat turn names files by id (or inlines small ones); every id is
looked up *within the caller's vendor*, so another vendor's id is simply not found.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent_runtime.contract import ErrorCode, Limits
from attachments import DocumentError, inspect
from attachments.store import BlobStore

from ..audit import AuditAction, AuditContext, append
from ..errors import ApiError
from ..models import Attachment, SessionAttachment, User

__all__ = ["TurnFile", "file_view", "new_file_id", "resolve_turn_files", "save_file", "store"]


def store() -> BlobStore:
    """The app's attachment store."""
    return current_app.extensions["attachment_store"]  # type: ignore[no-any-return]


def new_file_id() -> str:
    """An unguessable file id (``f_`` + 32 url-safe characters)."""
    return "f_" + secrets.token_urlsafe(24)


def file_view(row: Attachment) -> dict[str, Any]:
    """What the API shows of a file."""
    return {"file_id": row.id, "name": row.name, "media_type": row.media_type, "size": row.size}


def refusal(exc: DocumentError) -> ApiError:
    """A refused file as the API's error (413 when too large, else 400); the message names the file."""
    status = 413 if exc.code == ErrorCode.FILE_TOO_LARGE else 400
    return ApiError(status, exc.code, exc.message)


def save_file(session: Session, who: AuditContext, user: User, name: str, data: bytes) -> Attachment:
    """Check, store and record one file in ``session``'s transaction (the caller commits).

    Raises:
        ApiError: the file is refused (the message names it and says why).
    """
    max_bytes = min(int(current_app.config["ATTACH_MAX_FILE_BYTES"]), Limits.MAX_FILE_BYTES)
    try:
        media = inspect(data, name, max_bytes=max_bytes)
    except DocumentError as exc:
        raise refusal(exc) from None
    digest = store().put(user.vendor_id, data)
    row = Attachment(
        id=new_file_id(),
        vendor_id=user.vendor_id,
        user_id=user.id,
        name=name.strip(),
        media_type=str(media),
        size=len(data),
        sha256=digest,
    )
    session.add(row)
    append(
        session.connection(),
        who,
        AuditAction.ATTACHMENT_UPLOAD,
        subject_type="attachment",
        subject_id=row.id,
        detail={"name": row.name, "media_type": row.media_type, "size": row.size, "sha256": digest},
    )
    return row


@dataclass(frozen=True)
class TurnFile:
    """A file of a chat turn as the runtime receives it (``AttachmentRef``)."""

    row: Attachment
    inline: bytes | None

    def ref(self) -> dict[str, Any]:
        """The ``AttachmentRef`` JSON."""
        ref: dict[str, Any] = {
            "file_id": self.row.id,
            "name": self.row.name,
            "media_type": self.row.media_type,
            "size": self.row.size,
            "sha256": self.row.sha256,
        }
        if self.inline is not None:
            ref["data"] = base64.b64encode(self.inline).decode("ascii")
        return ref


def resolve_turn_files(
    session: Session, who: AuditContext, user: User, session_id: str, entries: Any
) -> list[TurnFile]:
    """Check a chat body's ``files`` and link them to the session (the caller commits).

    ``entries`` is a list of ``{"file_id"}`` or ``{"name", "media_type", "data"}`` (base64).

    Raises:
        ApiError: a malformed list, too many files, an unknown or other vendor's id (404), a refused
            inline file, or more than the turn's total size.
    """
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ApiError(400, ErrorCode.INVALID_PAYLOAD, "files must be a list")
    most = min(int(current_app.config["ATTACH_MAX_FILES"]), Limits.MAX_FILES)
    if len(entries) > most:
        raise ApiError(400, ErrorCode.TOO_MANY_FILES, f"attach at most {most} files to one message")
    rows: list[Attachment] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise ApiError(400, ErrorCode.INVALID_PAYLOAD, "each file must be an object")
        if set(entry) == {"file_id"} and isinstance(entry["file_id"], str):
            row = session.scalar(
                select(Attachment).where(
                    Attachment.id == entry["file_id"][:64], Attachment.vendor_id == user.vendor_id
                )
            )
            if row is None:
                raise ApiError(
                    404, ErrorCode.FILE_NOT_FOUND, "an attached file was not found; attach it again"
                )
            rows.append(row)
        elif {"name", "data"} <= set(entry) <= {"name", "media_type", "data"}:
            rows.append(save_file(session, who, user, str(entry["name"]), _inline_bytes(entry)))
        else:
            raise ApiError(400, ErrorCode.INVALID_PAYLOAD, "a file is {file_id} or {name, media_type, data}")
    total = sum(r.size for r in rows)
    most_bytes = min(int(current_app.config["ATTACH_MAX_TURN_BYTES"]), Limits.MAX_TURN_FILE_BYTES)
    if total > most_bytes:
        raise ApiError(
            413,
            ErrorCode.FILE_TOO_LARGE,
            f"the files of one message may total {most_bytes // (1024 * 1024)} MB; these are "
            f"{total / (1024 * 1024):.1f} MB",
        )
    linked = set(
        session.scalars(
            select(SessionAttachment.attachment_id).where(SessionAttachment.session_id == session_id)
        )
    )
    files: list[TurnFile] = []
    for row in rows:
        if row.id not in linked:
            linked.add(row.id)
            session.add(SessionAttachment(session_id=session_id, attachment_id=row.id))
        append(
            session.connection(),
            who,
            AuditAction.ATTACHMENT_SEND,
            session_id=session_id,
            subject_type="attachment",
            subject_id=row.id,
            detail={"name": row.name, "media_type": row.media_type, "size": row.size, "sha256": row.sha256},
        )
        inline = (
            store().get(row.vendor_id, row.sha256) if row.size <= Limits.MAX_RUNTIME_INLINE_BYTES else None
        )
        files.append(TurnFile(row, inline))
    return files


def session_files(session: Session, session_id: str) -> list[Attachment]:
    """The files sent with a session's turns, oldest first."""
    return list(
        session.scalars(
            select(Attachment)
            .join(SessionAttachment, SessionAttachment.attachment_id == Attachment.id)
            .where(SessionAttachment.session_id == session_id)
            .order_by(SessionAttachment.attached_at, Attachment.name)
        )
    )


def _inline_bytes(entry: dict[str, Any]) -> bytes:
    data = entry.get("data")
    name = str(entry.get("name"))[:80]
    if not isinstance(data, str) or len(data) > Limits.MAX_INLINE_FILE_CHARS:
        raise ApiError(
            413,
            ErrorCode.FILE_TOO_LARGE,
            f"“{name}”: upload files over {Limits.MAX_INLINE_FILE_CHARS // 1024} KB of base64 to /api/files",
        )
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, ErrorCode.INVALID_PAYLOAD, f"“{name}”: data is not valid base64") from None
