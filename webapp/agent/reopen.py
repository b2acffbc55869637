"""Reopen a saved playbook with the assistant (issue 11, "Refine with the assistant").

``POST /api/agent/<agent_type>/session`` with ``{"playbook_id": "<opaque id>"}``:

1. the playbook is looked up in the caller's vendor (another vendor's, or none, is 404);
2. a new session is minted as usual, its ``agent_session`` row linked to the playbook
   (``playbook_id``), so a save from it is a new version of that playbook, never a duplicate;
3. the web app seeds the runtime once: a ``seed`` invocation (not an action a browser can post)
   carrying the saved playbook and a seed token — the web app's signature over the session id and
   the playbook's digest (:meth:`~agent_runtime.contract.TokenCodec.mint_seed`) — besides the
   session token. The runtime checks both and takes the seed only for an empty session;
4. the seed's ``STATE_SNAPSHOT`` is recorded as the draft's title, phase and version (so the new
   draft is listed at once), and the reopening is audited.

The answer is a new mint's, plus ``playbook_id`` and the saved ``version`` the canvas starts from.
A runtime that refuses or cannot be reached answers in the JSON envelope (its status); the minted
row then stays hidden (a draft is listed once a stream has recorded it).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Response, current_app, jsonify
from flask_login import current_user

from agent_runtime.contract import Action, ErrorCode, PlaybookSpec, TokenCodec, seed_digest

from ..audit import StreamResult, append_now, current_context
from ..errors import ApiError
from ..extensions import db
from ..playbooks.ids import decode_id
from ..playbooks.service import load_playbook, to_spec_dict
from ..transports import Transport, UpstreamBroken, UpstreamError, UpstreamRequest
from .drafts import DraftRecorder
from .sessions import mint_session
from .snapshot import MAX_SNAPSHOT_BYTES, frame_event

__all__ = ["reopen_playbook"]

logger = logging.getLogger(__name__)

_REFUSED_STATUS = {
    ErrorCode.IDENTITY_MISMATCH: 403,
    ErrorCode.SESSION_MISMATCH: 403,
    ErrorCode.CONFLICT: 409,
    ErrorCode.SESSION_BUSY: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
}


def reopen_playbook(agent_type: str, opaque: Any) -> Response:
    """Mint a session whose canvas is the caller's saved playbook ``opaque`` (see the module doc).

    Raises:
        ApiError: 404 ``NOT_FOUND`` (not the vendor's playbook), the runtime's refusal or trouble.
    """
    playbook_id = decode_id(opaque) if isinstance(opaque, str) else None
    playbook = load_playbook(db.session, playbook_id, current_user.vendor_id) if playbook_id else None
    if playbook is None or playbook_id is None:
        raise ApiError(404, ErrorCode.NOT_FOUND, "no such playbook")
    spec = PlaybookSpec.model_validate(to_spec_dict(playbook))
    version, title = playbook.version, playbook.title
    user = current_user._get_current_object()
    user_id = int(user.id)
    who = current_context()
    codec: TokenCodec = current_app.extensions["token_codec"]
    db.session.close()  # end the reads: on SQLite a read cannot become a write
    with db.new_session() as session:
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        sid, token = mint_session(session, codec, user, agent_type, playbook_id=playbook_id)
        session.commit()
    payload = {
        "action": Action.SEED,
        "session_id": sid,
        "token": token,
        "playbook": spec.model_dump(mode="json"),
        "seed_token": codec.mint_seed(sid=sid, digest=seed_digest(spec)),
        "playbook_id": opaque,
    }
    recorder = DraftRecorder(db.engine, sid)
    _seed(current_app.extensions["agent_transport"], sid, json.dumps(payload).encode("utf-8"), recorder)
    recorder.closed(StreamResult(completed=True))
    if who is not None:
        append_now(
            db.engine,
            who,
            "playbook.reopen",
            session_id=sid,
            subject_type="playbook",
            subject_id=str(playbook_id),
            detail={"title": title, "version": version},
        )
    logger.info(
        "session_id=<%s>, user_id=<%s>, playbook_id=<%s>, version=<%s> | saved playbook reopened",
        sid,
        user_id,
        playbook_id,
        version,
    )
    response = jsonify(
        {
            "session_id": sid,
            "agent_url": "/api/agent",
            "token": token,
            "playbook_id": opaque,
            "version": version,
        }
    )
    response.status_code = 201
    return response


def _seed(transport: Transport, sid: str, payload: bytes, recorder: DraftRecorder) -> None:
    """Send the seed and read its short stream to ``RUN_FINISHED`` (a ``RUN_ERROR`` is the refusal)."""
    try:
        upstream = transport.open(UpstreamRequest(session_id=sid, payload=payload))
    except UpstreamError as exc:
        raise ApiError(exc.status, exc.code, f"the playbook could not be opened: {exc.message}") from None
    buffer, size = b"", 0
    try:
        for chunk in upstream:
            recorder.feed(chunk)
            size += len(chunk)
            buffer += chunk.replace(b"\r\n", b"\n")
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                event = frame_event(block) or {}
                if event.get("type") == "RUN_FINISHED":
                    return
                if event.get("type") == "RUN_ERROR":
                    code = str(event.get("code") or "")
                    known = ErrorCode(code) if code in set(ErrorCode) else ErrorCode.UPSTREAM_FAILED
                    logger.warning("session_id=<%s>, code=<%s> | runtime refused the seed", sid, code)
                    raise ApiError(
                        _REFUSED_STATUS.get(known, 502),
                        known,
                        f"the playbook could not be opened: {event.get('message', 'refused')}",
                    )
            if size > MAX_SNAPSHOT_BYTES:
                break
    except UpstreamBroken:
        pass
    finally:
        upstream.close()
    raise ApiError(502, ErrorCode.UPSTREAM_FAILED, "the playbook could not be opened; try again")
