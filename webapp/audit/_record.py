"""Appending audit rows: who, from which request, what — size-capped, insert only."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from flask import g, has_request_context, request
from flask_login import current_user
from sqlalchemy import Connection, Engine, insert

from agent_runtime.contract import Limits

from ..models import AuditEvent, utcnow

CONTEXT_MAX_CHARS = Limits.MAX_CONTEXT_CHARS
"""The person's text kept on a decision row (the runtime refuses longer context anyway)."""

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


class AuditAction(StrEnum):
    """The ``action`` of an audit row."""

    DECISION = "interrupt.decision"
    """A person answered an interrupt (forwarded to the runtime, or refused by the web app)."""
    OUTCOME = "interrupt.outcome"
    """What the runtime answered to a forwarded decision; ``parent_id`` names the decision row."""
    PLAYBOOK_SAVE = "playbook.save"
    PLAYBOOK_UPDATE = "playbook.update"
    PLAYBOOK_DELETE = "playbook.delete"
    ATTACHMENT_UPLOAD = "attachment.upload"
    """A user uploaded a file (name, type, size and hash in ``detail``)."""
    ATTACHMENT_SEND = "attachment.send"
    """A file went with a chat turn of a session."""
    DRAFT_EDIT = "draft.edit"
    """The person edited a builder canvas directly (the ops in ``detail``)."""
    DRAFT_UNDO = "draft.undo"
    DRAFT_REDO = "draft.redo"


@dataclass(frozen=True)
class AuditContext:
    """Who acts, and the request that carries the act (copied, so usable after the request)."""

    user_id: int | None
    vendor_id: int | None
    user_email: str | None = None
    request_id: str | None = None
    trace_id: str | None = None


def cap(value: Any, limit: int) -> str | None:
    """``value`` as a string of at most ``limit`` characters (None stays None)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def request_ids() -> tuple[str, str | None]:
    """This request's id (a valid ``X-Request-Id``, else a new one) and W3C trace id, if any."""
    cached = g.get("_audit_request_ids")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    ids = ids_from_headers(request.headers.get("X-Request-Id", ""), request.headers.get("traceparent", ""))
    g._audit_request_ids = ids
    return ids


def ids_from_headers(x_request_id: str, traceparent: str) -> tuple[str, str | None]:
    """A request's id (``x_request_id`` when valid, else a new one) and its W3C trace id, if any."""
    request_id = x_request_id if _REQUEST_ID.match(x_request_id) else uuid.uuid4().hex
    match = _TRACEPARENT.match(traceparent.strip().lower())
    trace_id = match.group(1) if match and match.group(1) != "0" * 32 else None
    return request_id, trace_id


def current_context() -> AuditContext | None:
    """The signed-in person and this request, or None when nobody is signed in.

    Cached on ``g``: call it while the request's ORM session still holds the user (a view that
    closes its session before a long stream calls it first).
    """
    if not has_request_context():
        return None
    cached = g.get("_audit_context")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    if not current_user.is_authenticated:
        return None
    request_id, trace_id = request_ids()
    context = AuditContext(
        user_id=current_user.id,
        vendor_id=current_user.vendor_id,
        user_email=current_user.email,
        request_id=request_id,
        trace_id=trace_id,
    )
    g._audit_context = context
    return context


def append(
    conn: Connection,
    who: AuditContext,
    action: AuditAction | str,
    *,
    session_id: str | None = None,
    interrupt_id: str | None = None,
    decision: str | None = None,
    context: str | None = None,
    outcome: str | None = None,
    parent_id: int | None = None,
    subject_type: str = "",
    subject_id: str = "",
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> int:
    """Insert one audit row inside the caller's transaction; returns its id.

    This is the only write the application makes to ``audit_event``.
    """
    values = {
        "at": at or utcnow(),
        "vendor_id": who.vendor_id,
        "user_id": who.user_id,
        "user_email": cap(who.user_email, 320),
        "action": str(action),
        "session_id": cap(session_id, 100),
        "interrupt_id": cap(interrupt_id, 100),
        "decision": cap(decision, 32),
        "context": cap(context, CONTEXT_MAX_CHARS),
        "outcome": cap(outcome, 100),
        "parent_id": parent_id,
        "request_id": cap(who.request_id, 64),
        "trace_id": cap(who.trace_id, 32),
        "subject_type": cap(subject_type, 64) or "",
        "subject_id": cap(subject_id, 100) or "",
        "detail": detail or {},
    }
    return int(conn.execute(insert(AuditEvent).returning(AuditEvent.id), values).scalar_one())


def append_now(engine: Engine, who: AuditContext, action: AuditAction | str, **fields: Any) -> int:
    """:func:`append` in its own short write transaction."""
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        return append(conn, who, action, **fields)
