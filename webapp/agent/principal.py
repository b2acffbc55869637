"""Who is streaming, without a database round trip before the stream's own one.

Opening a stream used to cost four database transactions (load the user, read the session row,
take the lease, ...). The run proxy now does everything in ONE statement (see ``leases.py``): the
conditional UPDATE that takes the lease (or records the run) also checks that the session row
belongs to this user and vendor and that the user is still active. So the signed-in user's row is
not loaded first: for the streaming endpoints the user id comes from the signed session cookie
(Flask-Login's ``_user_id``) and is checked by that statement.

:func:`seed_stream_principal` runs before every other request hook (so before the CSRF guard asks
``current_user.is_authenticated``) and, for the streaming endpoints only, hands Flask-Login a
:class:`StreamPrincipal` instead of letting it load the user. Anything unusual — no ``_user_id``
(a remember-me cookie alone), an id that is not a plain integer (Flask-Login's alternative ids),
``resume_interrupt``, ``edit``, ``undo``, ``redo`` (whose audit needs the person's e-mail) —
falls back to Flask-Login's own loading.

The user loader also checks the login generation (revocation at sign-out and password change,
``webapp.auth``): the cookie's id is ``"<user id>:<generation>"``, the principal carries both, and
:func:`principal_clause` checks the same generation, so the streaming endpoints refuse what the
loader refuses.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request, session
from sqlalchemy import ColumnElement, and_, exists
from sqlalchemy.orm import Session

from agent_runtime.contract import Action, ErrorCode

from ..errors import ApiError
from ..models import User

STREAM_ENDPOINTS = frozenset({"agent.run", "agent.run_action"})
_LOADED_USER_ACTIONS = frozenset({Action.RESUME_INTERRUPT, Action.EDIT, Action.UNDO, Action.REDO})


class StreamPrincipal:
    """The signed-in user as the session cookie names them; checked in SQL by the stream's statement.

    Quacks like a Flask-Login user (``is_authenticated``, ``id``) and nothing more.
    """

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, user_id: int, login_generation: int = 0) -> None:
        self.id = user_id
        self.login_generation = login_generation

    def get_id(self) -> str:
        """Flask-Login's id string (``webapp.models.User.get_id``)."""
        return f"{self.id}:{self.login_generation}"


def seed_stream_principal() -> None:
    """``before_request`` (first of all): skip loading the user row for a streaming request."""
    if request.endpoint not in STREAM_ENDPOINTS or "_login_user" in g:
        return
    if (request.view_args or {}).get("action") in _LOADED_USER_ACTIONS:
        return
    from ..auth import parse_login_id

    raw = session.get("_user_id")
    parsed = parse_login_id(raw) if isinstance(raw, str) else None
    if parsed is not None:
        g._login_user = StreamPrincipal(*parsed)


def install(app: Flask) -> None:
    """Put :func:`seed_stream_principal` ahead of every app-wide ``before_request`` hook."""
    hooks = app.before_request_funcs.setdefault(None, [])
    if seed_stream_principal not in hooks:
        hooks.insert(0, seed_stream_principal)


def principal_clause(
    user_id: Any, vendor_id: Any, active: Any = True, login_generation: Any = 0
) -> ColumnElement[bool]:
    """SQL: the user exists in this vendor and may sign in with this login (what the loader checks).

    The arguments are values or bind parameters (the stream's statement is built once).
    """
    return exists().where(
        and_(
            User.id == user_id,
            User.vendor_id == vendor_id,
            User.active == active,
            User.login_generation == login_generation,
        )
    )


def load_signed_in_user(db_session: Session, user_id: int, vendor_id: int) -> None:
    """Put the signed-in person's loaded ``User`` in place of a :class:`StreamPrincipal`.

    For a streaming request that needs the person's details after all (a turn with attachments).

    Raises:
        ApiError: 401 the user may no longer sign in; 403 the user is in another vendor.
    """
    if not isinstance(g.get("_login_user"), StreamPrincipal):
        return
    user = db_session.get(User, user_id)
    if user is None or not user.is_active:
        raise ApiError(401, ErrorCode.UNAUTHENTICATED, "sign in first")
    if user.vendor_id != vendor_id:
        raise ApiError(403, ErrorCode.IDENTITY_MISMATCH, "the session token belongs to someone else")
    g._login_user = user
