"""``/agent/save-playbook``, the playbook pages and ``/api/playbooks``."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template
from flask_login import current_user, login_required
from pydantic import ValidationError
from sqlalchemy import func, select

from agent_runtime.contract import ErrorCode, Limits, PlaybookSpec

from ..agent.snapshot import read_session_canvas
from ..audit import current_context
from ..errors import ApiError
from ..extensions import db
from ..models import AgentSession, Module, Playbook, Task
from ..security import json_body
from .ids import decode_id, encode_id
from .service import delete_playbook, load_playbook, replace_playbook, save_playbook, to_spec_dict

logger = logging.getLogger(__name__)

bp = Blueprint("playbooks", __name__)

MAX_KEY_CHARS = 100
SAVE_FIELDS = frozenset({"playbook", "idempotency_key", "session_id"})


def _json_body(limit: int) -> dict[str, Any]:
    """The JSON object body, read and size-checked (``limit``) before the user was loaded."""
    del limit  # webapp.security.body_limit applies the same limit to these paths
    return json_body()


def _spec(data: Any) -> PlaybookSpec:
    try:
        return PlaybookSpec.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        where = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
        message = errors[0]["msg"] if errors else "invalid"
        raise ApiError(400, ErrorCode.INVALID_PAYLOAD, f"playbook.{where or 'playbook'}: {message}") from None


def _own_playbook_id(opaque: str) -> int:
    playbook_id = decode_id(opaque)
    if playbook_id is None:
        abort(404)
    return playbook_id


@bp.post("/agent/save-playbook")
@login_required
def save() -> Any:
    """Save the builder's canvas: ``{playbook, idempotency_key, session_id?}``."""
    body = _json_body(Limits.MAX_SAVE_BYTES)
    unknown = set(body) - SAVE_FIELDS
    if unknown:
        raise ApiError(400, ErrorCode.INVALID_PAYLOAD, f"unknown field: {sorted(unknown)[0][:40]!r}")
    key = body.get("idempotency_key")
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_CHARS:
        raise ApiError(
            400,
            ErrorCode.INVALID_PAYLOAD,
            f"idempotency_key must be a non-empty string of at most {MAX_KEY_CHARS} characters",
        )
    if "playbook" not in body:
        raise ApiError(400, ErrorCode.INVALID_PAYLOAD, "playbook is required")
    spec = _spec(body["playbook"])
    source = body.get("session_id")
    vendor_id, user_id = current_user.vendor_id, current_user.id
    audit = current_context()
    if source is not None:
        row = db.session.get(AgentSession, str(source)) if isinstance(source, str) else None
        if row is None or row.vendor_id != current_user.vendor_id or row.user_id != current_user.id:
            raise ApiError(403, ErrorCode.SESSION_MISMATCH, "session_id is not one of your sessions")
        # Save what the user's own session holds, as the runtime has it — not what the page sent.
        sid, agent_type = row.sid, row.agent_type
        db.session.close()  # no pooled connection while the runtime answers
        canvas = read_session_canvas(
            current_app.extensions["agent_transport"],
            current_app.extensions["token_codec"],
            sid=sid,
            user_id=user_id,
            vendor_id=vendor_id,
            agent_type=agent_type,
        )
        spec = _spec(canvas)
        if not spec.modules:
            raise ApiError(409, ErrorCode.NOTHING_TO_SAVE, "this session has no playbook yet")
    db.session.close()
    result = save_playbook(
        db.engine,
        spec=spec,
        vendor_id=vendor_id,
        user_id=user_id,
        idempotency_key=key.strip(),
        source_session_id=source,
        audit=audit,
    )
    logger.info(
        "playbook_id=<%s>, vendor_id=<%s>, created=<%s> | playbook saved",
        result.playbook_id,
        vendor_id,
        result.created,
    )
    response = jsonify(
        {"playbook_id": encode_id(result.playbook_id), "playbook_id_decoded": result.playbook_id}
    )
    response.status_code = 201 if result.created else 200
    return response


@bp.get("/playbooks")
@login_required
def index() -> Any:
    """The vendor's playbooks."""
    modules = (
        select(Module.playbook_id, func.count(Module.id).label("n")).group_by(Module.playbook_id).subquery()
    )
    tasks = (
        select(Module.playbook_id, func.count(Task.id).label("n"))
        .join(Task, Task.module_id == Module.id)
        .group_by(Module.playbook_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Playbook, func.coalesce(modules.c.n, 0), func.coalesce(tasks.c.n, 0))
        .outerjoin(modules, modules.c.playbook_id == Playbook.id)
        .outerjoin(tasks, tasks.c.playbook_id == Playbook.id)
        .where(Playbook.vendor_id == current_user.vendor_id)
        .order_by(Playbook.updated_at.desc(), Playbook.id.desc())
        .limit(500)
    ).all()
    items = [
        {
            "id": encode_id(p.id),
            "title": p.title,
            "description": p.description,
            "modules": m,
            "tasks": t,
            "updated_at": p.updated_at,
        }
        for p, m, t in rows
    ]
    return render_template("playbooks/list.html", playbooks=items)


@bp.get("/playbooks/<playbook_id>")
@login_required
def edit(playbook_id: str) -> Any:
    """The edit page (another vendor's playbook is a 404)."""
    playbook = load_playbook(db.session, _own_playbook_id(playbook_id), current_user.vendor_id)
    if playbook is None:
        abort(404)
    return render_template(
        "playbooks/edit.html",
        playbook=playbook,
        playbook_id=playbook_id,
        spec=to_spec_dict(playbook),
        limits=Limits,
    )


@bp.get("/api/playbooks/<playbook_id>")
@login_required
def api_get(playbook_id: str) -> Any:
    """A playbook in the wire shape."""
    playbook = load_playbook(db.session, _own_playbook_id(playbook_id), current_user.vendor_id)
    if playbook is None:
        abort(404)
    return jsonify(
        {"playbook_id": playbook_id, "playbook_id_decoded": playbook.id, "playbook": to_spec_dict(playbook)}
    )


@bp.put("/api/playbooks/<playbook_id>")
@login_required
def api_replace(playbook_id: str) -> Any:
    """Replace a playbook's content: ``{playbook}`` (one transaction)."""
    decoded = _own_playbook_id(playbook_id)
    body = _json_body(Limits.MAX_SAVE_BYTES)
    spec = _spec(body.get("playbook"))
    if not replace_playbook(
        db.engine,
        playbook_id=decoded,
        vendor_id=current_user.vendor_id,
        user_id=current_user.id,
        spec=spec,
        audit=current_context(),
    ):
        abort(404)
    return jsonify({"playbook_id": playbook_id, "playbook_id_decoded": decoded})


@bp.delete("/api/playbooks/<playbook_id>")
@login_required
def api_delete(playbook_id: str) -> Any:
    """Delete a playbook."""
    if not delete_playbook(
        db.engine,
        playbook_id=_own_playbook_id(playbook_id),
        vendor_id=current_user.vendor_id,
        user_id=current_user.id,
        audit=current_context(),
    ):
        abort(404)
    return jsonify({"deleted": playbook_id})


@bp.app_template_filter("playbook_url_id")
def _playbook_url_id(value: int) -> str:
    return encode_id(value)
