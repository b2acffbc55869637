"""``/api/agent``: session minting and the streaming run proxy (DESIGN §3–§5)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask_login import current_user, login_required
from sqlalchemy import event

from agent_runtime.contract import (
    OUT_OF_BAND_ACTIONS,
    Action,
    AttachmentRef,
    EditPayload,
    ErrorCode,
    Limits,
    PayloadError,
    RedoPayload,
    ResumeInterruptPayload,
    TokenClaims,
    TokenCodec,
    TokenError,
    UndoPayload,
    parse_invocation,
)

from ..approvals.views import policy, recorded_decision
from ..approvals.watch import ApprovalWatcher, Observers
from ..audit import AuditContext, DecisionAudit, current_context, record_refused_decision, request_ids
from ..config import agent_types
from ..errors import ApiError
from ..extensions import db
from ..files.service import resolve_turn_files
from ..models import AgentSession
from ..openings import leave_gate
from ..security import json_body
from ..transports import Transport, UpstreamError, UpstreamRequest
from . import principal
from .disconnect import client_socket, monitor
from .drafts import DraftRecorder
from .edits import CHANGE_ACTIONS, CanvasChangeAudit
from .handoff import STREAM_HEADERS, handoff_response
from .leases import LeaseKeeper, lease_engine
from .relay import RelayStream
from .reopen import reopen_playbook
from .sessions import mint_session

logger = logging.getLogger(__name__)

bp = Blueprint("agent", __name__, url_prefix="/api/agent")
bp.after_request(record_refused_decision)
bp.record_once(lambda state: principal.install(state.app))  # type: ignore[arg-type]

LEASED_ACTIONS = frozenset({Action.CHAT, Action.RESUME_INTERRUPT, *CHANGE_ACTIONS})
"""Actions that run a turn or change the canvas, so hold the session's chat lease while they stream
(an edit during a turn is 409 ``SESSION_BUSY``, whichever runtime each lands on)."""


def codec() -> TokenCodec:
    """The app's token codec."""
    return current_app.extensions["token_codec"]  # type: ignore[no-any-return]


def transport() -> Transport:
    """The app's runtime transport."""
    return current_app.extensions["agent_transport"]  # type: ignore[no-any-return]


_KEEPER_LOCK = threading.Lock()


def lease_keeper() -> LeaseKeeper:
    """The app's lease keeper (built on first use, once per process and app)."""
    keeper = current_app.extensions.get("lease_keeper")
    if keeper is None:
        with _KEEPER_LOCK:
            keeper = current_app.extensions.get("lease_keeper")
            if keeper is None:
                keeper = LeaseKeeper(
                    lease_engine(db.engine), seconds=float(current_app.config["CHAT_LEASE_SECONDS"])
                )
                # Before the lease engine's own dispose (registered by lease_engine): the renewer
                # stops and returns its connection first.
                event.listen(db.engine, "engine_disposed", lambda _engine: keeper.close(), insert=True)
                current_app.extensions["lease_keeper"] = keeper
    return keeper  # type: ignore[no-any-return]


@bp.post("/<agent_type>/session")
@login_required
def create_session(agent_type: str) -> Any:
    """Mint ``{session_id, agent_url, token}``; no runtime call yet.

    With ``{"session_id": <a draft of the caller's>}`` the body asks for a fresh token for that draft
    (to reopen it in any tab or browser); any other session is 403. With ``{"playbook_id": <the
    vendor's saved playbook>}`` it starts a session on that playbook (:mod:`webapp.agent.reopen`).
    """
    if agent_type not in agent_types(current_app.config):
        raise ApiError(404, ErrorCode.UNKNOWN_AGENT_TYPE, f"unknown agent type: {agent_type[:40]!r}")
    body = g.get("json_body")  # read and parsed before the user was loaded (webapp.security)
    existing = body.get("session_id") if isinstance(body, dict) else None
    if isinstance(body, dict) and body.get("playbook_id") is not None:
        return reopen_playbook(agent_type, body["playbook_id"])  # "Refine with the assistant"
    if existing is not None:
        row = db.session.get(AgentSession, str(existing)[:100])
        if (
            row is None
            or row.user_id != current_user.id
            or row.vendor_id != current_user.vendor_id
            or row.agent_type != agent_type
            or row.deleted_at is not None
        ):
            raise ApiError(403, ErrorCode.SESSION_MISMATCH, "this draft is not yours")
        sid = row.sid
        token = codec().mint(sid=sid, uid=current_user.id, vid=current_user.vendor_id, typ=agent_type)
        db.session.rollback()
        logger.info("session_id=<%s>, user_id=<%s> | draft reopened", sid, current_user.id)
        return jsonify({"session_id": sid, "agent_url": "/api/agent", "token": token})
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
    body = chat_body(json_body(), len(request.get_data(cache=True)))
    files = body.pop("files", None)
    return _proxy(body, files=files)


@bp.post("/run/<sid>/<action>")
@login_required
def run_action(sid: str, action: str) -> Any:
    """An out-of-band action: stop, reset, resume_interrupt, watch; edit, undo, redo (canvas changes)."""
    body = action_body(sid, action, json_body(), request.headers.get("Last-Event-ID"))
    if action == Action.RESUME_INTERRUPT:
        body = recorded_decision(sid, body)
    return _proxy(body)


# -- the steps of an opening (the express lane, webapp.agent.express, takes the same ones) ----------


def chat_body(body: dict[str, Any], raw_length: int) -> dict[str, Any]:
    """``POST /run``'s body checked as a chat turn (its size with and without inline files).

    Raises:
        ApiError: 400 another action; 413 the message (without files) or the body is too large.
    """
    action = body.setdefault("action", Action.CHAT)
    if action != Action.CHAT:
        raise ApiError(
            400,
            ErrorCode.UNKNOWN_ACTION,
            "POST /api/agent/run takes action 'chat'; use /api/agent/run/<sid>/<action>",
        )
    if "files" in body:
        text_only = {key: value for key, value in body.items() if key != "files"}
        if body["files"] is not None and len(json.dumps(text_only)) > Limits.MAX_TURN_TEXT_BYTES:
            raise ApiError(413, ErrorCode.PAYLOAD_TOO_LARGE, "the message is too large")
    if body.get("files") is None and raw_length > Limits.MAX_TURN_TEXT_BYTES:
        raise ApiError(413, ErrorCode.PAYLOAD_TOO_LARGE, "the request body is too large")
    return body


def action_body(sid: str, action: str, body: dict[str, Any], last_event_id: str | None) -> dict[str, Any]:
    """``POST /run/<sid>/<action>``'s body with the path's session and action (and a watch's
    ``Last-Event-ID``).

    Raises:
        ApiError: 404 an unknown action; 403 the body names another session; 400 another action,
            or a ``Last-Event-ID`` that is not an integer.
    """
    if action not in OUT_OF_BAND_ACTIONS:
        raise ApiError(404, ErrorCode.UNKNOWN_ACTION, f"unknown action: {action[:40]!r}")
    if body.get("session_id", sid) != sid:
        raise ApiError(403, ErrorCode.SESSION_MISMATCH, "the body's session_id is not the path's")
    if body.get("action", action) != action:
        raise ApiError(400, ErrorCode.UNKNOWN_ACTION, "the body's action is not the path's")
    body["session_id"], body["action"] = sid, action
    if action == Action.WATCH and last_event_id and "last_event_id" not in body:
        try:
            body["last_event_id"] = int(last_event_id)
        except ValueError:
            raise ApiError(400, ErrorCode.INVALID_PAYLOAD, "Last-Event-ID must be an integer") from None
    return body


def check_opening(body: dict[str, Any], user_id: int, vendor_id: int | None) -> tuple[Any, TokenClaims]:
    """The invocation in ``body`` and its token's claims, checked against the signed-in user.

    ``vendor_id`` is None when the user was not loaded (the token's vendor is then checked in SQL
    by the lease statement).

    Raises:
        ApiError: 400/413 a bad payload; 401 a missing, expired or invalid token; 403 a token of
            someone else or for another session.
    """
    try:
        payload = parse_invocation(body)
    except PayloadError as exc:
        raise ApiError(_status_for(exc.code), exc.code, exc.message) from None
    try:
        claims = codec().verify(payload.token)
    except TokenError as exc:
        raise ApiError(401, exc.code, exc.message) from None
    if claims.uid != user_id or claims.vid != (claims.vid if vendor_id is None else vendor_id):
        raise ApiError(403, ErrorCode.IDENTITY_MISMATCH, "the session token belongs to someone else")
    if claims.sid != payload.session_id:
        raise ApiError(403, ErrorCode.SESSION_MISMATCH, "the session token is for another session")
    return payload, claims


def take_lease(payload: Any, claims: TokenClaims, login_generation: int) -> Callable[[], None]:
    """The one database statement before the first byte: ownership, the user's standing, the lease
    (for a turn) and ``last_run_at`` together. Returns what frees the lease (once the stream ends).

    Raises:
        ApiError: as :meth:`LeaseKeeper.open`.
    """
    keeper = lease_keeper()
    holder = keeper.open(
        payload.session_id,
        user_id=claims.uid,
        vendor_id=claims.vid,
        agent_type=claims.typ,
        lease=payload.action in LEASED_ACTIONS,
        login_generation=login_generation,
    )

    def finish() -> None:
        if holder is not None:
            keeper.release(holder)

    return finish


def _status_for(code: ErrorCode) -> int:
    return {
        ErrorCode.TOKEN_MISSING: 401,
        ErrorCode.PAYLOAD_TOO_LARGE: 413,
    }.get(code, 400)


def _proxy(body: dict[str, Any], files: Any = None) -> Response:
    # current_user is a StreamPrincipal (the cookie's user id, no database read) or, when the
    # request needs the person's details (the audit of resume_interrupt, attachments), the User.
    user_id = int(current_user.id)
    payload, claims = check_opening(body, user_id, getattr(current_user, "vendor_id", None))
    sid, action = payload.session_id, payload.action
    if files is not None:
        # Attachments are checked and linked as this person: load them (a turn with files does
        # database work by nature; a plain turn stays at one statement).
        principal.load_signed_in_user(db.session, user_id, claims.vid)
    needs_who = isinstance(payload, ResumeInterruptPayload) or files is not None or action in CHANGE_ACTIONS
    who = current_context() if needs_who else None
    # Read before the rollback below (which expires a loaded user's attributes).
    login_generation = int(getattr(current_user, "login_generation", 0) or 0)

    if "_db_session" in g:  # end the read of the user: the lease's write must not race its snapshot
        db.session.rollback()
    finish = take_lease(payload, claims, login_generation)

    if files is not None and who is not None:
        try:
            # Checked, stored and linked to the session (now known to be this user's) before the
            # runtime hears of the turn.
            turn_files = resolve_turn_files(db.session, who, current_user, sid, files)
            if turn_files:
                db.session.commit()
                payload = payload.model_copy(
                    update={"files": [AttachmentRef.model_validate(f.ref()) for f in turn_files]}
                )
        except BaseException:
            finish()
            raise
    if "_db_session" in g:  # give a loaded user's connection back before a long stream
        db.session.rollback()
        db.session.close()

    audit: DecisionAudit | CanvasChangeAudit | None = None
    if isinstance(payload, EditPayload | UndoPayload | RedoPayload) and who is not None:
        audit = CanvasChangeAudit(db.engine, who, payload)  # one row when the stream ends
    if isinstance(payload, ResumeInterruptPayload) and who is not None:
        try:
            audit = DecisionAudit.record(db.engine, who, payload)  # before the runtime hears of it
        except BaseException:
            finish()
            raise
    if who is None:
        request_id, trace_id = request_ids()
        who = AuditContext(user_id=user_id, vendor_id=claims.vid, request_id=request_id, trace_id=trace_id)
    return relay_response(request.environ, payload, who, finish, audit=audit)


def relay_response(
    wsgi_environ: dict[str, Any],
    payload: Any,
    who: AuditContext,
    finish: Callable[[], None],
    *,
    audit: DecisionAudit | CanvasChangeAudit | None = None,
) -> Response:
    """Ask the runtime for the stream and relay it (or hand it to the ASGI edge's loop).

    ``finish`` runs once however the stream ends, and now if it never starts.

    Raises:
        ApiError: the runtime refused or could not be reached (``finish`` has run).
    """
    sid, action = payload.session_id, payload.action
    engine = db.engine
    forwarded = json.dumps(payload.model_dump(mode="json", exclude_none=True), separators=(",", ":"))
    upstream_request = UpstreamRequest(
        session_id=sid,
        payload=forwarded.encode("utf-8"),
        traceparent=wsgi_environ.get("HTTP_TRACEPARENT"),
        tracestate=wsgi_environ.get("HTTP_TRACESTATE"),
    )
    log_context = f"session_id=<{sid}>, user_id=<{who.user_id}>, action=<{action}>"
    try:
        observer = Observers(
            audit,
            DraftRecorder(engine, sid),
            # A turn that pauses becomes approval requests (issue 13); no database read for it here.
            ApprovalWatcher(engine, who, policy(), sid) if action in LEASED_ACTIONS else None,
        )
        ticket = handoff_response(
            wsgi_environ,
            upstream_request,
            transport(),
            finish,
            observer=observer,
            audit=audit,
            log_context=log_context,
        )
    except BaseException:
        finish()
        raise
    if ticket is not None:  # served by the ASGI edge: the event loop relays the stream
        return ticket
    leave_gate(wsgi_environ)  # the opening's own work is done: waiting on the runtime holds no slot
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

    relay = RelayStream(
        upstream,
        on_finish=finish,
        monitor=monitor,
        client_sock=client_socket(wsgi_environ),
        log_context=log_context,
        observer=observer,
    )
    return Response(relay, status=200, headers=STREAM_HEADERS, direct_passthrough=True)
