"""The canvas a session holds, read from the runtime (what a save from the builder stores).

The builder's Save names its session; the web app checks the session is the signed-in user's and
asks the runtime for that session's current canvas with a ``watch`` invocation (which opens with
``RUN_STARTED`` and a ``STATE_SNAPSHOT`` of the canvas), reads up to that snapshot and closes the
stream. So a save stores what the user's own session built — never whatever a page holds, such as
state another user left in a shared tab.

The runtime writes its frames itself (``agent_runtime.events.sse``: ``id:`` and ``data:`` lines, a
blank line after each), so splitting on blank lines and reading the ``data:`` line is enough here.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from agent_runtime.contract import Action, ErrorCode, TokenCodec

from ..errors import ApiError
from ..transports import Transport, UpstreamBroken, UpstreamError, UpstreamRequest

logger = logging.getLogger(__name__)

SNAPSHOT_TOKEN_SECONDS = 60
MAX_SNAPSHOT_BYTES = 8 * 1024 * 1024
"""More than the largest canvas (a full 2 MB save) with room for the frames before it."""


def read_session_canvas(
    transport: Transport, codec: TokenCodec, *, sid: str, user_id: int, vendor_id: int, agent_type: str
) -> dict[str, Any]:
    """The session's current canvas (``STATE_SNAPSHOT.snapshot.canvas``), from the runtime.

    Args:
        sid: A session the caller has checked belongs to ``user_id`` in ``vendor_id``.

    Raises:
        ApiError: the runtime refused or could not be reached (its status), or sent no snapshot (502).
    """
    token = codec.mint(sid=sid, uid=user_id, vid=vendor_id, typ=agent_type, ttl=SNAPSHOT_TOKEN_SECONDS)
    payload = json.dumps({"session_id": sid, "token": token, "action": Action.WATCH}).encode("utf-8")
    try:
        upstream = transport.open(UpstreamRequest(session_id=sid, payload=payload))
    except UpstreamError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    buffer = b""
    try:
        for chunk in upstream:
            buffer += chunk.replace(b"\r\n", b"\n")
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                event = frame_event(block)
                if event is None:
                    continue
                kind = event.get("type")
                if kind == "STATE_SNAPSHOT":
                    canvas = (event.get("snapshot") or {}).get("canvas")
                    if isinstance(canvas, dict):
                        return canvas
                if kind == "RUN_ERROR":
                    code = str(event.get("code") or "")
                    known = code in set(ErrorCode)
                    raise ApiError(
                        403 if code in {ErrorCode.IDENTITY_MISMATCH, ErrorCode.SESSION_MISMATCH} else 502,
                        ErrorCode(code) if known else ErrorCode.UPSTREAM_FAILED,
                        f"the session's canvas could not be read: {event.get('message', 'refused')}",
                    )
                if kind == "RUN_FINISHED":
                    break
            if len(buffer) > MAX_SNAPSHOT_BYTES:
                break
    except UpstreamBroken:
        pass
    finally:
        upstream.abort()
        upstream.close()
    logger.warning("session_id=<%s> | runtime sent no canvas snapshot", sid)
    raise ApiError(502, ErrorCode.UPSTREAM_FAILED, "the session's canvas could not be read; try again")


def frame_event(block: bytes) -> dict[str, Any] | None:
    """The JSON event of one SSE frame (its joined ``data:`` lines), or ``None``."""
    data = b"\n".join(line[5:].lstrip(b" ") for line in block.split(b"\n") if line.startswith(b"data:"))
    if not data:
        return None
    try:
        event = json.loads(data)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None
