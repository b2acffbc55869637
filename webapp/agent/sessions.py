"""Minting agent sessions (the chat lease and the stream's one statement are in ``leases.py``)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from agent_runtime.contract import TokenCodec

from ..models import AgentSession, User


def mint_session(
    session: Session, codec: TokenCodec, user: User, agent_type: str, *, playbook_id: int | None = None
) -> tuple[str, str]:
    """Record a new session for ``user`` and sign its token (committed by the caller).

    ``playbook_id``: the saved playbook the session refines (its saves become new versions of it).

    Returns:
        ``(session_id, token)``; the id is a UUID4 string (36 characters, AgentCore wants ≥ 33).
    """
    sid = str(uuid.uuid4())
    session.add(
        AgentSession(
            sid=sid, user_id=user.id, vendor_id=user.vendor_id, agent_type=agent_type, playbook_id=playbook_id
        )
    )
    token = codec.mint(sid=sid, uid=user.id, vid=user.vendor_id, typ=agent_type)
    return sid, token
