"""A small engine/session holder bound to the app (no Flask-SQLAlchemy needed)."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, has_app_context
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


class Database:
    """Owns the engine and hands out one ORM session per request (``db.session``).

    Each app keeps its own engine (``app.extensions["database_engine"]``): within an app context
    ``db.engine`` is that app's, so a background thread of one app (the approvals worker) never
    writes into another app's database in a process that holds several (tests). Outside any app
    context it is the engine of the app initialised last.
    """

    def __init__(self) -> None:
        self._engine: Engine | None = None
        self._factory: sessionmaker[Session] | None = None

    def init_app(self, app: Flask) -> None:
        """Create the engine from ``SQLALCHEMY_URL`` and close the request session on teardown."""
        self._engine = make_engine(
            app.config["SQLALCHEMY_URL"],
            pool_size=int(app.config.get("DB_POOL_SIZE", 10)),
            max_overflow=int(app.config.get("DB_MAX_OVERFLOW", 40)),
            pool_timeout=float(app.config.get("DB_POOL_TIMEOUT", 10.0)),
            busy_timeout_ms=int(app.config.get("DB_BUSY_TIMEOUT_MS", 10000)),
        )
        self._factory = sessionmaker(self._engine, expire_on_commit=False)
        app.extensions["database"] = self
        self.bind(app, self._engine)

        @app.teardown_appcontext
        def _close_session(_exc: BaseException | None) -> None:
            session = g.pop("_db_session", None)
            if session is not None:
                session.close()

    @staticmethod
    def bind(app: Flask, engine: Engine) -> None:
        """Make ``engine`` the database of ``app``."""
        app.extensions["database_engine"] = engine
        app.extensions["database_factory"] = sessionmaker(engine, expire_on_commit=False)

    def _state(self) -> tuple[Engine | None, sessionmaker[Session] | None]:
        if has_app_context() and "database_engine" in current_app.extensions:
            return current_app.extensions["database_engine"], current_app.extensions["database_factory"]
        return self._engine, self._factory

    @property
    def engine(self) -> Engine:
        """The current app's engine (usable outside a request, e.g. from a streaming generator)."""
        engine = self._state()[0]
        if engine is None:
            raise RuntimeError("database is not initialised; call init_app first")
        return engine

    @property
    def session(self) -> Session:
        """The current request's session."""
        if "_db_session" not in g:
            g._db_session = self.new_session()
        return g._db_session  # type: ignore[no-any-return]

    def new_session(self) -> Session:
        """A fresh session the caller closes."""
        factory = self._state()[1]
        if factory is None:
            raise RuntimeError("database is not initialised; call init_app first")
        return factory()

    def dispose(self) -> None:
        """Close every pooled connection (of the current app's engine, or the last one's)."""
        engine = self._state()[0]
        if engine is not None:
            engine.dispose()


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 40,
    pool_timeout: float = 10.0,
    busy_timeout_ms: int = 10000,
) -> Engine:
    """Build an engine with sensible settings for SQLite (WAL, FKs, busy timeout) and Postgres.

    The pool (``DB_POOL_SIZE`` + ``DB_MAX_OVERFLOW`` connections, ``DB_POOL_TIMEOUT`` to get one)
    applies to both; a file SQLite database uses a queue pool too. Writers on SQLite queue for
    the write lock for up to ``busy_timeout_ms`` (``DB_BUSY_TIMEOUT_MS``).
    """
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
        memory = ":memory:" in url or "mode=memory" in url
        if not memory:
            from sqlalchemy.pool import QueuePool

            kwargs.update(
                poolclass=QueuePool, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout
            )
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # SQLAlchemy emits BEGIN itself (below), so a writer can ask for BEGIN IMMEDIATE.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            if ":memory:" not in url and "mode=memory" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
                # WAL + NORMAL: durable against crashes of the app, no fsync on every commit.
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers pass execution_options(sqlite_begin="IMMEDIATE") so they take the write lock
            # up front and queue on busy_timeout instead of failing a read→write lock upgrade.
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    kwargs.update(pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout)
    return create_engine(url, **kwargs)
