"""Minting agent sessions and the per-session chat lease (an atomic conditional UPDATE)."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import Engine, or_, update
from sqlalchemy.orm import Session

from agent_runtime.contract import TokenCodec

from ..models import AgentSession, User, utcnow


def mint_session(session: Session, codec: TokenCodec, user: User, agent_type: str) -> tuple[str, str]:
    """Record a new session for ``user`` and sign its token (committed by the caller).

    Returns:
        ``(session_id, token)``; the id is a UUID4 string (36 characters, AgentCore wants ≥ 33).
    """
    sid = str(uuid.uuid4())
    session.add(AgentSession(sid=sid, user_id=user.id, vendor_id=user.vendor_id, agent_type=agent_type))
    token = codec.mint(sid=sid, uid=user.id, vid=user.vendor_id, typ=agent_type)
    return sid, token


def _now_ms() -> int:
    return int(time.time() * 1000)


def acquire_lease(engine: Engine, sid: str, holder: str, seconds: float) -> bool:
    """Take the session's chat lease if it is free or expired; records ``last_run_at``.

    One conditional UPDATE, so two concurrent turns cannot both win (on SQLite and Postgres).
    """
    now = _now_ms()
    stmt = (
        update(AgentSession)
        .where(AgentSession.sid == sid)
        .where(or_(AgentSession.lease_holder.is_(None), AgentSession.lease_expires_ms < now))
        .values(lease_holder=holder, lease_expires_ms=now + int(seconds * 1000), last_run_at=utcnow())
    )
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        return conn.execute(stmt).rowcount == 1


def renew_lease(engine: Engine, sid: str, holder: str, seconds: float) -> bool:
    """Push the lease's expiry out while its stream is still flowing."""
    stmt = (
        update(AgentSession)
        .where(AgentSession.sid == sid, AgentSession.lease_holder == holder)
        .values(lease_expires_ms=_now_ms() + int(seconds * 1000))
    )
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        return conn.execute(stmt).rowcount == 1


def release_lease(engine: Engine, sid: str, holder: str) -> None:
    """Free the lease if ``holder`` still has it."""
    stmt = (
        update(AgentSession)
        .where(AgentSession.sid == sid, AgentSession.lease_holder == holder)
        .values(lease_holder=None, lease_expires_ms=None)
    )
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        conn.execute(stmt)


def touch_last_run(engine: Engine, sid: str) -> None:
    """Record that the session was used (for actions that take no lease)."""
    stmt = update(AgentSession).where(AgentSession.sid == sid).values(last_run_at=utcnow())
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        conn.execute(stmt)
