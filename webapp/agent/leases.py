"""Opening a stream in one database statement, and chat leases that never end a working stream.

``LeaseKeeper.open`` is the only database work between a streaming request and its first byte:
one conditional UPDATE that checks the session row is this user's and vendor's, that the user may
still sign in (:func:`~webapp.agent.principal.principal_clause`), takes the chat lease when the
action runs a turn (free or expired only, so two turns cannot both win) and records ``last_run_at``.
Only when it changes no row does a second query find out why (403 / 401 / 409).

On Postgres the keeper uses its own small pool in autocommit mode without pre-ping, so that
statement is exactly one round trip (no ``BEGIN``/``COMMIT``, no ``SELECT 1``), run straight on a
pooled cursor (:mod:`webapp.agent.lease_statements`); a connection found dead is retried once (the
retried take matches its own holder, so a first try that was applied is not a 409). Its pool is
separate from the request pool and waits at most :data:`POOL_TIMEOUT_SECONDS`, so a starved
database answers 503 before a stream starts. SQLite (a local file, no round trips) uses the app's engine.

Leases are renewed by one background thread per process with one UPDATE for every live lease
(in batches of :data:`RENEW_BATCH`), every third of the lease's lifetime. A renewal that fails is
logged and retried on the next tick; it never touches a stream. A lease whose release failed is
retried by the same thread; meanwhile it simply expires. The thread exits when no lease is live.

Releases are grouped the way a database groups commits: a stream that ends while another
release's UPDATE is in flight queues its lease, and the next UPDATE frees every queued lease at
once (``WHERE sid IN … AND lease_holder IN …``; holders are unique, so no lease of another turn
can match). The first stream to arrive runs its UPDATE at once (nothing waits for a timer), and
every stream still waits until its own lease is released before its response ends, so a client
that read its stream to the end never meets its own lease on the next turn, whichever web app
process or instance that turn lands on. When many streams end together (a burst), the cost of
releasing is a few statements instead of one per stream.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Engine, Table, create_engine, event, select, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from agent_runtime.contract import ErrorCode

from ..errors import ApiError
from ..models import AgentSession, User, utcnow
from .lease_statements import RECORD_RUN, RELEASE_MANY, TAKE_LEASE, DirectStatements

logger = logging.getLogger(__name__)

T = TypeVar("T")

POOL_SIZE = 10
POOL_OVERFLOW = 10
POOL_TIMEOUT_SECONDS = 3.0
RENEW_BATCH = 500
RELEASE_WAIT_SECONDS = POOL_TIMEOUT_SECONDS + 2.0
"""The longest a stream's end waits for a grouped release (then its lease is retried or expires)."""

_SESSIONS = cast(Table, AgentSession.__table__)
_USERS = cast(Table, User.__table__)


class _Waiter:
    """A lease queued for release, and how its stream learns it is done (or must run the batch)."""

    __slots__ = ("sid", "holder", "done", "lead", "abandoned")

    def __init__(self, sid: str, holder: str) -> None:
        self.sid = sid
        self.holder = holder
        self.done = threading.Event()
        self.lead = False
        self.abandoned = False


def database_busy() -> ApiError:
    """The 503 a stream gets, before it starts, when the database cannot answer in time."""
    return ApiError(503, ErrorCode.DATABASE_UNAVAILABLE, "the database is busy; try again in a moment")


def _rowcount(stmt: Any, conn: Connection) -> int:
    return int(conn.execute(stmt).rowcount)


def now_ms() -> int:
    """Epoch milliseconds (the lease's clock, compared in SQL the same way on every engine)."""
    return int(time.time() * 1000)


def lease_engine(app_engine: Engine) -> Engine:
    """The engine leases use: the app's for SQLite, a one-round-trip autocommit pool otherwise."""
    if app_engine.dialect.name == "sqlite":
        return app_engine
    engine = create_engine(
        app_engine.url,
        isolation_level="AUTOCOMMIT",
        pool_pre_ping=False,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        pool_recycle=1800,
    )
    # Closed with the app's engine (tests and shutdown call its dispose()).
    event.listen(app_engine, "engine_disposed", lambda _engine: engine.dispose())
    return engine


class LeaseKeeper:
    """The process's stream openings, live chat leases and their one renewer thread."""

    def __init__(
        self,
        engine: Engine,
        *,
        seconds: float,
        renew_every: float | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        """Build a keeper.

        Args:
            engine: The engine from :func:`lease_engine`.
            seconds: A lease's lifetime without renewal (``CHAT_LEASE_SECONDS``).
            renew_every: Seconds between renewals; a third of ``seconds`` by default.
            clock: Epoch milliseconds (tests move time).
        """
        self.engine = engine
        self.seconds = seconds
        self.renew_every = renew_every if renew_every is not None else max(seconds / 3, 0.05)
        self._clock = clock
        self._sqlite = engine.dialect.name == "sqlite"
        # Postgres: the stream path's two statements skip SQLAlchemy's execution machinery.
        self._direct = None if self._sqlite else DirectStatements(engine)
        self._live: dict[str, str] = {}  # holder → sid
        self._unreleased: dict[str, str] = {}
        self._lock = threading.Lock()
        self._release_lock = threading.Lock()
        self._to_release: list[_Waiter] = []
        self._releasing = False
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()
        self.renewals = 0
        self.renewal_failures = 0

    # -- opening ---------------------------------------------------------------------------------

    def open(
        self,
        sid: str,
        *,
        user_id: int,
        vendor_id: int,
        agent_type: str,
        lease: bool,
        login_generation: int = 0,
    ) -> str | None:
        """Check the session is this user's and record the run; with ``lease``, take the chat lease.

        Returns:
            The lease holder id (pass it to :meth:`release`), or None without ``lease``.

        Raises:
            ApiError: 403 not this user's session, 401 the user may no longer sign in, 409 a turn
                already holds the lease, 503 the database is unavailable or its pool exhausted.
        """
        now = self._clock()
        holder = uuid.uuid4().hex if lease else None
        params: dict[str, Any] = {
            "b_sid": sid,
            "b_uid": user_id,
            "b_vid": vendor_id,
            "b_typ": agent_type,
            "b_active": True,
            "b_gen": login_generation,
            "b_now_dt": utcnow(),
        }
        stmt = RECORD_RUN
        if holder is not None:
            stmt = TAKE_LEASE
            params.update(b_holder=holder, b_now_ms=now, b_expires_ms=now + int(self.seconds * 1000))

        def take(conn: Connection) -> ApiError | None:
            if conn.execute(stmt, params).rowcount == 1:
                return None
            return refuse(conn)

        def refuse(conn: Connection) -> ApiError:
            return self._refusal(conn, sid, user_id, vendor_id, agent_type, login_generation)

        try:
            if self._direct is None:
                refusal = self._with_connection(take)
            elif self._direct.rowcount(stmt, params) == 1:
                refusal = None
            else:
                refusal = self._with_connection(refuse)
        except SQLAlchemyError as exc:
            logger.warning(
                "session_id=<%s>, error=<%s> | stream not opened: database", sid, type(exc).__name__
            )
            raise database_busy() from exc
        if refusal is not None:
            raise refusal
        if holder is not None:
            self._track(holder, sid)
        return holder

    def _refusal(
        self, conn: Connection, sid: str, user_id: int, vendor_id: int, agent_type: str, login_generation: int
    ) -> ApiError:
        """Why :meth:`open` changed no row (the refusal path: a second query is fine here)."""
        user = conn.execute(
            select(_USERS.c.active, _USERS.c.vendor_id, _USERS.c.login_generation).where(
                _USERS.c.id == user_id
            )
        ).first()
        if user is None or not user.active or user.login_generation != login_generation:
            return ApiError(401, ErrorCode.UNAUTHENTICATED, "sign in first")
        if user.vendor_id != vendor_id:
            return ApiError(403, ErrorCode.IDENTITY_MISMATCH, "the session token belongs to someone else")
        row = conn.execute(
            select(_SESSIONS.c.user_id, _SESSIONS.c.vendor_id, _SESSIONS.c.agent_type).where(
                _SESSIONS.c.sid == sid
            )
        ).first()
        if row is None or tuple(row) != (user_id, vendor_id, agent_type):
            return ApiError(403, ErrorCode.SESSION_MISMATCH, "this session is not yours")
        return ApiError(409, ErrorCode.SESSION_BUSY, "a turn is already running in this session")

    # -- release and renewal ---------------------------------------------------------------------

    def release(self, holder: str) -> None:
        """Free the lease now (the stream ended); on failure the renewer thread retries it.

        Returns once the lease is released (or handed to the renewer after a failure): grouped with
        the releases that queued while another was in flight, never delayed by a timer.
        """
        with self._lock:
            sid = self._live.pop(holder, None)
        if sid is None:
            return
        waiter = _Waiter(sid, holder)
        with self._release_lock:
            self._to_release.append(waiter)
            lead = not self._releasing
            self._releasing = True
        if not lead:
            # Another thread is releasing: the next batch takes this lease (and this thread may be
            # asked to run that batch).
            if not waiter.done.wait(RELEASE_WAIT_SECONDS):
                with self._release_lock:
                    if not waiter.lead:  # never chosen to run a batch: the next batch still frees it
                        waiter.abandoned = True
                        logger.warning("session_id=<%s> | lease release still queued; not waiting", sid)
                        return
            if not waiter.lead:
                return
        self._release_queued()

    def _release_queued(self) -> None:
        """Release everything queued in one statement; hand the next batch to one of its waiters."""
        with self._release_lock:
            batch, self._to_release = self._to_release, []
        try:
            self._release_batch([(w.sid, w.holder) for w in batch])
        except Exception as exc:  # noqa: BLE001 - whatever failed, the renewer thread retries
            logger.warning(
                "leases=<%d>, error=<%s> | lease release failed; retrying in the background",
                len(batch),
                type(exc).__name__,
            )
            self._retry_later(batch)
        finally:
            orphans: list[_Waiter] = []
            with self._release_lock:
                successor = next((w for w in self._to_release if not w.abandoned), None)
                if successor is not None:
                    successor.lead = True  # it runs the next batch (its own lease is in it)
                    successor.done.set()
                else:  # nobody left waiting to run it: the renewer thread releases the rest
                    orphans, self._to_release = self._to_release, []
                    self._releasing = False
            self._retry_later(orphans)
            for waiter in batch:
                waiter.done.set()

    def _retry_later(self, waiters: list[_Waiter]) -> None:
        if waiters:
            with self._lock:
                self._unreleased.update({w.holder: w.sid for w in waiters})
                self._ensure_thread()

    def _release_batch(self, leases: list[tuple[str, str]]) -> None:
        """One UPDATE freeing ``leases`` (sid, holder); a holder only ever names its own session."""
        params = {"b_sids": [sid for sid, _ in leases], "b_holders": [holder for _, holder in leases]}
        if self._direct is not None:
            self._direct.rowcount(RELEASE_MANY, params)
        else:
            self._with_connection(lambda conn: conn.execute(RELEASE_MANY, params))

    def _release(self, sid: str, holder: str) -> None:
        self._release_batch([(sid, holder)])

    def renew_all(self) -> int:
        """Push every live lease's expiry out: one UPDATE per :data:`RENEW_BATCH` leases.

        Returns:
            How many leases were renewed (rows the UPDATEs matched).
        """
        with self._lock:
            holders = list(self._live)
        expires = self._clock() + int(self.seconds * 1000)
        renewed = 0
        for start in range(0, len(holders), RENEW_BATCH):
            batch = holders[start : start + RENEW_BATCH]
            stmt = (
                update(_SESSIONS).where(_SESSIONS.c.lease_holder.in_(batch)).values(lease_expires_ms=expires)
            )
            renewed += self._with_connection(partial(_rowcount, stmt))
        self.renewals += 1
        return renewed

    def live(self) -> int:
        """How many leases this process holds."""
        with self._lock:
            return len(self._live)

    def _track(self, holder: str, sid: str) -> None:
        with self._lock:
            self._live[holder] = sid
            self._ensure_thread()

    def _ensure_thread(self) -> None:
        """Start the renewer if it is not running (call with the lock held)."""
        if self._closed.is_set():
            return
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="lease-renewer", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop the renewer and wait for it (the app's engine is being disposed); leases left expire.

        A renewal or release in flight finishes first and hands its connection back before the pool
        is disposed: otherwise that connection outlives its pool, open, until garbage collection.
        """
        self._closed.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(RELEASE_WAIT_SECONDS)

    def _run(self) -> None:
        while not self._closed.wait(self.renew_every):
            with self._lock:
                if not self._live and not self._unreleased:
                    self._thread = None
                    return
                retry = dict(self._unreleased)
            for holder, sid in retry.items():
                try:
                    self._release(sid, holder)
                except SQLAlchemyError:
                    continue
                with self._lock:
                    self._unreleased.pop(holder, None)
            try:
                count = self.renew_all()
                logger.debug("leases=<%d> | leases renewed", count)
            except SQLAlchemyError as exc:  # the next tick tries again; no stream is touched
                self.renewal_failures += 1
                logger.warning("error=<%s> | lease renewal failed; retrying next tick", type(exc).__name__)
            except Exception:  # noqa: BLE001 - the renewer must outlive any surprise
                self.renewal_failures += 1
                logger.exception("lease renewal failed")

    # -- connections -----------------------------------------------------------------------------

    def _with_connection(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` on one connection and commit; a dead pooled connection is retried once."""
        if self._sqlite:
            with self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
                return work(conn)
        try:
            with self.engine.connect() as conn:
                return work(conn)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            logger.info("the lease pool's connection was dead; retrying once")
        with self.engine.connect() as conn:
            return work(conn)
