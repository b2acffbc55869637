"""``/api/agent``: session minting and the streaming run proxy (DESIGN §3–§5)."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask_login import current_user, login_required

from agent_runtime.contract import (
    OUT_OF_BAND_ACTIONS,
    Action,
    AttachmentRef,
    ErrorCode,
    Limits,
    PayloadError,
    ResumeInterruptPayload,
    TokenCodec,
    TokenError,
    parse_invocation,
)

from ..approvals.views import policy, recorded_decision
from ..approvals.watch import ApprovalWatcher, Observers
from ..audit import DecisionAudit, current_context, record_refused_decision
from ..config import agent_types
from ..errors import ApiError
from ..extensions import db
from ..files.service import resolve_turn_files
from ..models import AgentSession
from ..security import json_body
from ..transports import Transport, UpstreamError, UpstreamRequest
from .disconnect import client_socket, monitor
from .relay import RelayStream
from .sessions import acquire_lease, mint_session, release_lease, renew_lease, touch_last_run

logger = logging.getLogger(__name__)

bp = Blueprint("agent", __name__, url_prefix="/api/agent")
bp.after_request(record_refused_decision)

LEASED_ACTIONS = frozenset({Action.CHAT, Action.RESUME_INTERRUPT})
"""Actions that run a turn, so hold the session's chat lease while they stream."""

STREAM_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
}


def codec() -> TokenCodec:
    """The app's token codec."""
    return current_app.extensions["token_codec"]  # type: ignore[no-any-return]


def transport() -> Transport:
    """The app's runtime transport."""
    return current_app.extensions["agent_transport"]  # type: ignore[no-any-return]


@bp.post("/<agent_type>/session")
@login_required
def create_session(agent_type: str) -> Any:
    """Mint ``{session_id, agent_url, token}``; no runtime call yet."""
    if agent_type not in agent_types(current_app.config):
        raise ApiError(404, "UNKNOWN_AGENT_TYPE", f"unknown agent type: {agent_type[:40]!r}")
    user = current_user._get_current_object()
    db.session.close()  # end the user loader's read: on SQLite a read cannot become a write
    with db.new_session() as session:
        # Take SQLite's write lock up front, so concurrent mints queue on busy_timeout.
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        sid, token = mint_session(session, codec(), user, agent_type)
        session.commit()
    logger.info(
        "session_id=<%s>, user_id=<%s>, agent_type=<%s> | session minted", sid, current_user.id, agent_type
    )
    response = jsonify({"session_id": sid, "agent_url": "/api/agent", "token": token})
    response.status_code = 201
    return response


@bp.post("/run")
@login_required
def run() -> Any:
    """A chat turn: ``{session_id, token, action: "chat", prompt, ui_context?, files?}``."""
    body = _json_body(Limits.MAX_CHAT_REQUEST_BYTES)
    action = body.setdefault("action", Action.CHAT)
    if action != Action.CHAT:
        raise ApiError(
            400,
            ErrorCode.UNKNOWN_ACTION,
            "POST /api/agent/run takes action 'chat'; use /api/agent/run/<sid>/<action>",
        )
    files = body.pop("files", None)
    if files is not None and len(json.dumps(body)) > Limits.MAX_TURN_TEXT_BYTES:
        raise ApiError(413, ErrorCode.PAYLOAD_TOO_LARGE, "the message is too large")
    if files is None and len(request.get_data(cache=True)) > Limits.MAX_TURN_TEXT_BYTES:
        raise ApiError(413, ErrorCode.PAYLOAD_TOO_LARGE, "the request body is too large")
    return _proxy(body, files=files)


@bp.post("/run/<sid>/<action>")
@login_required
def run_action(sid: str, action: str) -> Any:
    """An out-of-band action on a session: ``stop``, ``reset``, ``resume_interrupt``, ``watch``."""
    if action not in OUT_OF_BAND_ACTIONS:
        raise ApiError(404, ErrorCode.UNKNOWN_ACTION, f"unknown action: {action[:40]!r}")
    body = _json_body()
    if body.get("session_id", sid) != sid:
        raise ApiError(403, ErrorCode.SESSION_MISMATCH, "the body's session_id is not the path's")
    if body.get("action", action) != action:
        raise ApiError(400, ErrorCode.UNKNOWN_ACTION, "the body's action is not the path's")
    body["session_id"], body["action"] = sid, action
    if action == Action.RESUME_INTERRUPT:
        body = recorded_decision(sid, body)
    last_event_id = request.headers.get("Last-Event-ID")
    if action == Action.WATCH and last_event_id and "last_event_id" not in body:
        try:
            body["last_event_id"] = int(last_event_id)
        except ValueError:
            raise ApiError(400, ErrorCode.INVALID_PAYLOAD, "Last-Event-ID must be an integer") from None
    return _proxy(body)


def _json_body(limit: int = Limits.MAX_INVOCATION_BYTES) -> dict[str, Any]:
    # Read, size-checked (webapp.security.body_limit gives this path's limit) and parsed before
    # the user was loaded: webapp.security.read_json_body.
    del limit
    return json_body()


def _status_for(code: ErrorCode) -> int:
    return {
        ErrorCode.TOKEN_MISSING: 401,
        ErrorCode.PAYLOAD_TOO_LARGE: 413,
    }.get(code, 400)


def _proxy(body: dict[str, Any], files: Any = None) -> Response:
    try:
        payload = parse_invocation(body)
    except PayloadError as exc:
        raise ApiError(_status_for(exc.code), exc.code, exc.message) from None
    try:
        claims = codec().verify(payload.token)
    except TokenError as exc:
        raise ApiError(401, exc.code, exc.message) from None
    if claims.uid != current_user.id or claims.vid != current_user.vendor_id:
        raise ApiError(403, ErrorCode.IDENTITY_MISMATCH, "the session token belongs to someone else")
    if claims.sid != payload.session_id:
        raise ApiError(403, ErrorCode.SESSION_MISMATCH, "the session token is for another session")
    row = db.session.get(AgentSession, payload.session_id)
    if (
        row is None
        or row.vendor_id != current_user.vendor_id
        or row.user_id != current_user.id
        or row.agent_type != claims.typ
    ):
        raise ApiError(403, ErrorCode.SESSION_MISMATCH, "this session is not yours")
    sid, user_id, action = row.sid, current_user.id, payload.action
    who = current_context()  # while the session still holds the user: the audit needs it later
    if files is not None and who is not None:
        # Checked, stored and linked to the session before the runtime hears of the turn.
        turn_files = resolve_turn_files(db.session, who, current_user, sid, files)
        if turn_files:
            db.session.commit()
            payload = payload.model_copy(
                update={"files": [AttachmentRef.model_validate(f.ref()) for f in turn_files]}
            )
    db.session.rollback()
    db.session.close()  # give the connection back before a long stream

    engine = db.engine
    lease_seconds = float(current_app.config["CHAT_LEASE_SECONDS"])
    holder = None
    if action in LEASED_ACTIONS:
        holder = uuid.uuid4().hex
        if not acquire_lease(engine, sid, holder, lease_seconds):
            raise ApiError(409, ErrorCode.SESSION_BUSY, "a turn is already running in this session")
    else:
        touch_last_run(engine, sid)

    def finish() -> None:
        if holder is not None:
            release_lease(engine, sid, holder)

    audit: DecisionAudit | None = None
    if isinstance(payload, ResumeInterruptPayload) and who is not None:
        try:
            audit = DecisionAudit.record(engine, who, payload)  # before the runtime hears of it
        except BaseException:
            finish()
            raise

    forwarded = json.dumps(payload.model_dump(mode="json", exclude_none=True), separators=(",", ":"))
    upstream_request = UpstreamRequest(
        session_id=sid,
        payload=forwarded.encode("utf-8"),
        traceparent=request.headers.get("traceparent"),
        tracestate=request.headers.get("tracestate"),
    )
    try:
        upstream = transport().open(upstream_request)
    except UpstreamError as exc:
        finish()
        if audit is not None:
            audit.upstream_refused(exc.status, exc.code)
        logger.warning("session_id=<%s>, action=<%s>, status=<%s> | runtime refused", sid, action, exc.status)
        raise ApiError(exc.status, exc.code, exc.message) from None
    except BaseException:
        finish()
        if audit is not None:
            audit.upstream_refused(500, ErrorCode.INTERNAL)
        raise

    renew_every = lease_seconds / 3
    next_renew = [time.monotonic() + renew_every]

    def on_chunk() -> None:
        if holder is not None and time.monotonic() >= next_renew[0]:
            next_renew[0] = time.monotonic() + renew_every
            renew_lease(engine, sid, holder, lease_seconds)

    relay = RelayStream(
        upstream,
        on_finish=finish,
        on_chunk=on_chunk if holder is not None else None,
        monitor=monitor,
        client_sock=client_socket(request.environ),
        log_context=f"session_id=<{sid}>, user_id=<{user_id}>, action=<{action}>",
        observer=Observers(
            audit,
            ApprovalWatcher(engine, who, policy(), sid)
            if who is not None and action in LEASED_ACTIONS
            else None,
        ),
    )
    response = Response(relay, status=200, headers=STREAM_HEADERS, direct_passthrough=True)
    return response
