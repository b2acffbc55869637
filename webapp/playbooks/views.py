"""``/agent/save-playbook``, the playbook pages and ``/api/playbooks``."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from flask_login import current_user, login_required
from pydantic import ValidationError
from sqlalchemy import func, select

from agent_runtime.contract import ErrorCode, Limits, PlaybookSpec

from ..agent.snapshot import read_session_canvas
from ..audit import current_context
from ..errors import ApiError
from ..extensions import db
from ..models import AgentSession, Module, Playbook, PlaybookVersion, Task, User
from ..security import json_body
from .ids import decode_id, encode_id
from .service import delete_playbook, load_playbook, replace_playbook, save_playbook, to_spec_dict
from .versions import diff_specs, to_markdown

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
    linked = _linked_playbook(vendor_id, source) if source is not None else None
    replayed = db.session.scalar(
        select(Playbook.id).where(Playbook.vendor_id == vendor_id, Playbook.idempotency_key == key.strip())
    )
    if linked is not None and replayed is None:
        again = db.session.scalar(
            select(PlaybookVersion.version).where(
                PlaybookVersion.playbook_id == linked, PlaybookVersion.idempotency_key == key.strip()
            )
        )
        if again is not None:  # the same save repeated: its version, not a new one
            db.session.close()
            return jsonify(
                {"playbook_id": encode_id(linked), "playbook_id_decoded": linked, "version": again}
            )
    db.session.close()
    if linked is not None and replayed is None:
        # A session that already saved a playbook saves it again as a new version (issue 11).
        version = replace_playbook(
            db.engine,
            playbook_id=linked,
            vendor_id=vendor_id,
            user_id=user_id,
            spec=spec,
            audit=audit,
            source_session_id=source,
            idempotency_key=key.strip(),
        )
        if version is not None:
            logger.info("playbook_id=<%s>, version=<%s> | playbook saved as a new version", linked, version)
            return jsonify(
                {"playbook_id": encode_id(linked), "playbook_id_decoded": linked, "version": version}
            )
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
    version = db.session.scalar(select(Playbook.version).where(Playbook.id == result.playbook_id))
    response = jsonify(
        {
            "playbook_id": encode_id(result.playbook_id),
            "playbook_id_decoded": result.playbook_id,
            "version": version,
        }
    )
    response.status_code = 201 if result.created else 200
    return response


def _linked_playbook(vendor_id: int, source: str) -> int | None:
    """The playbook a session saves into: the one it was opened on, else the one it saved first."""
    reopened = db.session.scalar(
        select(Playbook.id)
        .join(AgentSession, AgentSession.playbook_id == Playbook.id)
        .where(AgentSession.sid == source, Playbook.vendor_id == vendor_id)
    )
    if reopened is not None:
        return int(reopened)
    return db.session.scalar(
        select(Playbook.id)
        .where(Playbook.vendor_id == vendor_id, Playbook.source_session_id == source)
        .order_by(Playbook.id)
        .limit(1)
    )


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
    spec = to_spec_dict(playbook)
    versions = [
        {
            **_version_view(v, email),
            "created_at": v.created_at,
            "changes": diff_specs(v.spec, spec) if v.version != playbook.version else [],
        }
        for v, email in _versions(playbook.id)[:20]
    ]
    return render_template(
        "playbooks/edit.html",
        playbook=playbook,
        playbook_id=playbook_id,
        spec=spec,
        limits=Limits,
        versions=versions,
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
    version = replace_playbook(
        db.engine,
        playbook_id=decoded,
        vendor_id=current_user.vendor_id,
        user_id=current_user.id,
        spec=spec,
        audit=current_context(),
    )
    if version is None:
        abort(404)
    return jsonify({"playbook_id": playbook_id, "playbook_id_decoded": decoded, "version": version})


def _versions(playbook_id: int) -> list[Any]:
    return list(
        db.session.execute(
            select(PlaybookVersion, User.email)
            .join(User, User.id == PlaybookVersion.created_by)
            .where(PlaybookVersion.playbook_id == playbook_id)
            .order_by(PlaybookVersion.version.desc())
        ).all()
    )


def _version_view(row: Any, email: str) -> dict[str, Any]:
    return {
        "version": row.version,
        "created_at": row.created_at.isoformat(),
        "created_by": email,
        "source_session_id": row.source_session_id,
        "note": row.note,
    }


def _own(playbook_id: str) -> Playbook:
    playbook = load_playbook(db.session, _own_playbook_id(playbook_id), current_user.vendor_id)
    if playbook is None:
        abort(404)
    return playbook


def _spec_at(playbook: Playbook, version: int | None) -> dict[str, Any]:
    if version is None or version == playbook.version:
        return to_spec_dict(playbook)
    row = db.session.get(PlaybookVersion, (playbook.id, version))
    if row is None:
        abort(404)
    return row.spec


@bp.get("/api/playbooks/<playbook_id>/versions")
@login_required
def api_versions(playbook_id: str) -> Any:
    """``{"versions": [{version, created_at, created_by, source_session_id}]}``, newest first."""
    playbook = _own(playbook_id)
    rows = _versions(playbook.id)
    if not rows:  # saved before versions were kept: its content is version 1
        return jsonify({"versions": [], "current": playbook.version})
    return jsonify({"versions": [_version_view(v, email) for v, email in rows], "current": playbook.version})


@bp.get("/api/playbooks/<playbook_id>/diff")
@login_required
def api_diff(playbook_id: str) -> Any:
    """``?from=<n>&to=<m>`` (``to`` defaults to the current version) → ``{"changes": [{kind, text}]}``."""
    playbook = _own(playbook_id)
    try:
        old = int(request.args.get("from", ""))
        new = int(request.args["to"]) if request.args.get("to") else None
    except ValueError:
        raise ApiError(400, ErrorCode.INVALID_PAYLOAD, "from and to are version numbers") from None
    changes = diff_specs(_spec_at(playbook, old), _spec_at(playbook, new))
    return jsonify({"from": old, "to": new or playbook.version, "changes": [c.to_dict() for c in changes]})


@bp.post("/api/playbooks/<playbook_id>/versions/<int:version>/restore")
@login_required
def api_restore(playbook_id: str, version: int) -> Any:
    """Save a new version equal to an old one (audited as an update that says so)."""
    playbook = _own(playbook_id)
    spec = _spec(_spec_at(playbook, version))
    decoded = playbook.id
    audit = current_context()
    vendor_id, user_id = current_user.vendor_id, current_user.id
    db.session.close()
    restored = replace_playbook(
        db.engine,
        playbook_id=decoded,
        vendor_id=vendor_id,
        user_id=user_id,
        spec=spec,
        audit=audit,
        note=f"restored from version {version}",
    )
    if restored is None:
        abort(404)
    return jsonify({"playbook_id": playbook_id, "playbook_id_decoded": decoded, "version": restored})


@bp.get("/playbooks/<playbook_id>/export.md")
@login_required
def export_markdown(playbook_id: str) -> Any:
    """The playbook as a Markdown download."""
    playbook = _own(playbook_id)
    text = to_markdown(to_spec_dict(playbook), version=playbook.version, updated_at=playbook.updated_at)
    slug = "".join(c if c.isalnum() else "-" for c in playbook.title.lower()).strip("-")[:60] or "playbook"
    response = Response(text, mimetype="text/markdown")
    response.headers["Content-Disposition"] = f'attachment; filename="{slug}.md"'
    return response


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
