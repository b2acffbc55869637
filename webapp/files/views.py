"""``/api/files``: upload one file, list a session's files, fetch a file (all vendor-scoped)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, request
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from agent_runtime.contract import ErrorCode, Limits
from attachments.store import BlobMissing

from ..audit import current_context
from ..errors import ApiError
from ..extensions import db
from ..models import AgentSession, Attachment
from .service import file_view, save_file, session_files, store

logger = logging.getLogger(__name__)

bp = Blueprint("files", __name__, url_prefix="/api/files")

_FORM_OVERHEAD = 64 * 1024
"""Room for the multipart boundaries and headers around the file itself."""


@bp.post("")
@login_required
def upload() -> Any:
    """Store one file (multipart field ``file``) → 201 ``{file_id, name, media_type, size}``."""
    max_bytes = min(int(current_app.config["ATTACH_MAX_FILE_BYTES"]), Limits.MAX_FILE_BYTES)
    if request.content_length is not None and request.content_length > max_bytes + _FORM_OVERHEAD:
        raise ApiError(
            413, ErrorCode.FILE_TOO_LARGE, f"the file is larger than {max_bytes // (1024 * 1024)} MB"
        )
    request.max_content_length = max_bytes + _FORM_OVERHEAD  # a chunked body is cut off here too
    try:
        uploaded = request.files.get("file")
    except RequestEntityTooLarge:
        raise ApiError(
            413, ErrorCode.FILE_TOO_LARGE, f"the file is larger than {max_bytes // (1024 * 1024)} MB"
        ) from None
    if uploaded is None:
        raise ApiError(400, ErrorCode.INVALID_PAYLOAD, "send the file as multipart/form-data field 'file'")
    data = uploaded.read(max_bytes + 1)
    who = current_context()
    assert who is not None  # login_required
    row = save_file(db.session, who, current_user, uploaded.filename or "", data)
    db.session.commit()
    logger.info(
        "user_id=<%s>, file_id=<%s>, media_type=<%s>, size=<%d> | file uploaded",
        current_user.id,
        row.id,
        row.media_type,
        row.size,
    )
    response = jsonify(file_view(row))
    response.status_code = 201
    return response


@bp.get("")
@login_required
def list_files() -> Any:
    """``?session_id=<sid>`` → ``{"files": [...]}``: what was attached in one of the caller's sessions."""
    sid = request.args.get("session_id", "")[:100]
    row = db.session.get(AgentSession, sid) if sid else None
    if row is None or row.user_id != current_user.id or row.vendor_id != current_user.vendor_id:
        raise ApiError(404, ErrorCode.NOT_FOUND, "no such session")
    return jsonify({"files": [file_view(f) for f in session_files(db.session, sid)]})


@bp.get("/<file_id>")
@login_required
def fetch(file_id: str) -> Any:
    """The file's bytes, as a download (never rendered inline)."""
    row = db.session.scalar(
        select(Attachment).where(
            Attachment.id == file_id[:64], Attachment.vendor_id == current_user.vendor_id
        )
    )
    if row is None:
        raise ApiError(404, ErrorCode.FILE_NOT_FOUND, "no such file")
    try:
        data = store().get(row.vendor_id, row.sha256)
    except BlobMissing:
        raise ApiError(404, ErrorCode.FILE_NOT_FOUND, "the file's content is no longer stored") from None
    response = Response(data, mimetype=row.media_type)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(row.name)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response
