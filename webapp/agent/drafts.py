"""Drafts (issue 11): every builder session is a draft owned by its user, kept server-side.

The runtime's durable store holds a session's canvas, version and conversation; the web app keeps
what a drafts list needs — title, phase, version, last change — on the session's row, read from the
last ``STATE_SNAPSHOT`` of each relayed stream (:class:`DraftRecorder`, one UPDATE when the stream
ends, never on the path to the first byte). ``GET /api/drafts`` lists the caller's own drafts;
``DELETE /api/drafts/<sid>`` drops the draft's stored state in the runtime (a ``reset``) and hides
it (the audit trail stays).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, current_app, jsonify
from flask_login import current_user, login_required
from sqlalchemy import Engine, or_, select, update

from agent_runtime.contract import Action, ErrorCode

from ..audit import StreamResult, append, current_context
from ..errors import ApiError
from ..extensions import db
from ..models import AgentSession, Playbook, utcnow
from ..playbooks.ids import encode_id
from ..transports import UpstreamError, UpstreamRequest

__all__ = ["DraftRecorder", "bp"]

logger = logging.getLogger(__name__)

bp = Blueprint("drafts", __name__, url_prefix="/api/drafts")

MAX_SNAPSHOT_BYTES = 2 * 1024 * 1024


class DraftRecorder:
    """Reads the last ``STATE_SNAPSHOT`` of a relayed stream; writes it to the session row at the end."""

    def __init__(self, engine: Engine, session_id: str) -> None:
        """Record for ``session_id``."""
        self._engine = engine
        self._sid = session_id
        self._buffer = b""
        self._state: dict[str, Any] | None = None

    def feed(self, chunk: bytes) -> None:
        """A copy of the next chunk."""
        self._buffer += chunk
        while True:
            end = self._buffer.find(b"\n\n")
            if end < 0:
                break
            frame, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
            if b'"STATE_SNAPSHOT"' in frame:
                self._snapshot(frame)
        if len(self._buffer) > MAX_SNAPSHOT_BYTES:
            self._buffer = b""

    def _snapshot(self, raw: bytes) -> None:
        data = b"\n".join(line[5:].lstrip(b" ") for line in raw.split(b"\n") if line.startswith(b"data:"))
        try:
            event = json.loads(data)
        except ValueError:
            return
        snapshot = event.get("snapshot") if isinstance(event, dict) else None
        if isinstance(snapshot, dict):
            inner = snapshot.get("canvas")
            canvas: dict[str, Any] = inner if isinstance(inner, dict) else {}
            self._state = {
                "title": str(canvas.get("title") or "")[:200] or None,
                "phase": str(snapshot.get("phase") or "")[:20] or None,
                "canvas_version": snapshot.get("version")
                if isinstance(snapshot.get("version"), int)
                else None,
            }

    def closed(self, result: StreamResult) -> None:
        """One UPDATE with what the stream left on the canvas — when it changed (a watch that only
        looked, e.g. another tab joining, does not make the draft's last change newer)."""
        if self._state is None:
            return
        state = self._state
        with self._engine.begin() as conn:
            conn.execute(
                update(AgentSession)
                .where(
                    AgentSession.sid == self._sid,
                    or_(
                        AgentSession.updated_at.is_(None),
                        AgentSession.canvas_version.is_distinct_from(state["canvas_version"]),
                        AgentSession.phase.is_distinct_from(state["phase"]),
                        AgentSession.title.is_distinct_from(state["title"]),
                    ),
                )
                .values(**state, updated_at=utcnow())
            )


@bp.get("")
@login_required
def list_drafts() -> Any:
    """``{"drafts": [{session_id, title, phase, version, updated_at, playbook_id}]}``, newest first."""
    rows = (
        db.session.execute(
            select(AgentSession)
            .where(
                AgentSession.user_id == current_user.id,
                AgentSession.vendor_id == current_user.vendor_id,
                AgentSession.deleted_at.is_(None),
                AgentSession.updated_at.is_not(None),
                # Nothing on the canvas (only the router answered, or "New playbook" reset it):
                # nothing to come back to.
                AgentSession.phase.is_not(None),
                AgentSession.phase != "empty",
            )
            .order_by(AgentSession.updated_at.desc())
            .limit(50)
        )
        .scalars()
        .all()
    )
    sids = [r.sid for r in rows]
    linked = (
        dict(
            (sid, pid)
            for pid, sid in db.session.execute(
                select(Playbook.id, Playbook.source_session_id).where(
                    Playbook.vendor_id == current_user.vendor_id, Playbook.source_session_id.in_(sids)
                )
            )
        )
        if sids
        else {}
    )
    return jsonify(
        {
            "drafts": [
                {
                    "session_id": r.sid,
                    "title": r.title or "Untitled draft",
                    "phase": r.phase,
                    "version": r.canvas_version,
                    "updated_at": r.updated_at.isoformat() if r.updated_at else None,
                    "playbook_id": encode_id(r.playbook_id)
                    if r.playbook_id is not None
                    else (encode_id(linked[r.sid]) if r.sid in linked else None),
                }
                for r in rows
            ]
        }
    )


@bp.delete("/<sid>")
@login_required
def delete_draft(sid: str) -> Any:
    """Drop a draft's stored state (a runtime ``reset``) and hide it; the audit trail keeps it."""
    row = db.session.get(AgentSession, sid[:100])
    if row is None or row.user_id != current_user.id or row.vendor_id != current_user.vendor_id:
        raise ApiError(404, ErrorCode.NOT_FOUND, "no such draft")
    codec = current_app.extensions["token_codec"]
    token = codec.mint(sid=row.sid, uid=row.user_id, vid=row.vendor_id, typ=row.agent_type)
    payload = {"action": Action.RESET, "session_id": row.sid, "token": token}
    try:
        upstream = current_app.extensions["agent_transport"].open(
            UpstreamRequest(session_id=row.sid, payload=json.dumps(payload).encode())
        )
        for _ in upstream:  # the reset's short stream
            pass
        upstream.close()
    except UpstreamError as exc:
        raise ApiError(exc.status, exc.code, f"the draft could not be deleted: {exc.message}") from None
    who = current_context()
    db.session.execute(update(AgentSession).where(AgentSession.sid == row.sid).values(deleted_at=utcnow()))
    if who is not None:
        append(
            db.session.connection(),
            who,
            "draft.delete",
            session_id=row.sid,
            subject_type="draft",
            subject_id=row.sid,
            detail={"title": row.title},
        )
    db.session.commit()
    return jsonify({"deleted": row.sid})
