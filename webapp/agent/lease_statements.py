"""The stream path's lease statements, built once, and run straight on a pooled DBAPI cursor.

Opening a stream runs one UPDATE and ending it one more (:mod:`webapp.agent.leases`). Through a
SQLAlchemy ``Connection`` each statement also pays for the Core execution machinery (a
``Connection`` object, the compiled-cache lookup, parameter processing, the result object): on the
hot path that cost more CPU than the round trip itself. So on Postgres each statement is compiled
to SQL text once per engine and executed on a pooled DBAPI connection's cursor (the engine's pool,
autocommit, as before: one round trip, no ``BEGIN``/``COMMIT``). A connection found dead is
invalidated and the statement retried once (what SQLAlchemy's optimistic disconnect handling did);
DBAPI errors are raised as SQLAlchemy's (``DBAPIError.instance``), so callers catch one kind.

SQLite keeps the Core path (a local file: no round trip, and its write lock needs ``BEGIN
IMMEDIATE``).
"""

from __future__ import annotations

import logging
from typing import Any, cast

from sqlalchemy import ARRAY, Engine, String, Table, and_, any_, bindparam, null, or_, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import Update

from ..models import AgentSession
from .principal import principal_clause

logger = logging.getLogger(__name__)

_SESSIONS = cast(Table, AgentSession.__table__)

# Bind parameters named "b_*" (an UPDATE reserves its columns' names).
_OWNED = and_(
    _SESSIONS.c.sid == bindparam("b_sid"),
    _SESSIONS.c.user_id == bindparam("b_uid"),
    _SESSIONS.c.vendor_id == bindparam("b_vid"),
    _SESSIONS.c.agent_type == bindparam("b_typ"),
    principal_clause(bindparam("b_uid"), bindparam("b_vid"), bindparam("b_active"), bindparam("b_gen")),
)
RECORD_RUN = update(_SESSIONS).where(_OWNED).values(last_run_at=bindparam("b_now_dt"))
"""A watch: the session is this user's (and the user may sign in); record the run."""

TAKE_LEASE = (
    update(_SESSIONS)
    .where(
        _OWNED,
        or_(
            _SESSIONS.c.lease_holder.is_(None),
            _SESSIONS.c.lease_expires_ms < bindparam("b_now_ms"),
            # A retry of this same statement (its first try may have been applied before the
            # connection died): the holder id is new per turn, so only this turn matches.
            _SESSIONS.c.lease_holder == bindparam("b_holder"),
        ),
    )
    .values(
        last_run_at=bindparam("b_now_dt"),
        lease_holder=bindparam("b_holder"),
        lease_expires_ms=bindparam("b_expires_ms"),
    )
)
"""A turn: as :data:`RECORD_RUN`, and take the chat lease if it is free or expired."""

RELEASE_MANY = (
    update(_SESSIONS)
    .where(
        _SESSIONS.c.sid.in_(bindparam("b_sids", expanding=True)),
        _SESSIONS.c.lease_holder.in_(bindparam("b_holders", expanding=True)),
    )
    .values(lease_holder=null(), lease_expires_ms=null())
)
"""Free leases (sids, holders); a holder only ever names its own session, so pairs cannot cross."""

_RELEASE_MANY_ARRAYS = (
    update(_SESSIONS)
    .where(
        _SESSIONS.c.sid == any_(bindparam("b_sids", type_=ARRAY(String))),
        _SESSIONS.c.lease_holder == any_(bindparam("b_holders", type_=ARRAY(String))),
    )
    .values(lease_holder=null(), lease_expires_ms=null())
)
""":data:`RELEASE_MANY` with array parameters: one SQL text whatever the batch's size."""


class DirectStatements:
    """The lease statements as SQL text for one (non-SQLite) engine, run on its pool's cursors."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        dialect = engine.dialect
        self._dbapi_error = cast(type[Exception], dialect.loaded_dbapi.Error)
        self._sql = {
            RECORD_RUN: self._text(RECORD_RUN),
            TAKE_LEASE: self._text(TAKE_LEASE),
            RELEASE_MANY: self._text(_RELEASE_MANY_ARRAYS),
        }

    def _text(self, stmt: Update) -> str:
        compiled = stmt.compile(dialect=self.engine.dialect)
        if compiled.positional:  # pragma: no cover - psycopg uses named (pyformat) parameters
            raise ValueError(f"{self.engine.dialect.name}: positional parameters are not supported here")
        return str(compiled)

    def rowcount(self, stmt: Update, params: dict[str, Any]) -> int:
        """Execute one of the statements above; how many rows it changed.

        Raises:
            sqlalchemy.exc.DBAPIError: the database failed (a dead connection is retried once).
            sqlalchemy.exc.TimeoutError: no pooled connection in time.
        """
        sql = self._sql[stmt]
        for attempt in (1, 2):
            raw = self.engine.raw_connection()
            try:
                cursor = raw.cursor()
                try:
                    cursor.execute(sql, params)
                    return int(cursor.rowcount)
                finally:
                    cursor.close()
            except self._dbapi_error as exc:
                dead = bool(self.engine.dialect.is_disconnect(cast(Any, exc), raw.dbapi_connection, None))
                if dead:
                    raw.invalidate(exc)
                if not dead or attempt == 2:
                    raise DBAPIError.instance(
                        sql, params, exc, self._dbapi_error, connection_invalidated=dead
                    ) from exc
                logger.info("the lease pool's connection was dead; retrying once")
            finally:
                raw.close()  # back to the pool (an invalidated one is discarded)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
