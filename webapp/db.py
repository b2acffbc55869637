"""The database: one engine per app, one ORM session per request (no Flask-SQLAlchemy needed)."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


class AppDatabase:
    """One app's engine and session factory (``app.extensions["database"]``)."""

    def __init__(self, engine: Engine) -> None:
        """Own ``engine``; sessions do not expire their objects on commit."""
        self.engine = engine
        self.factory = sessionmaker(engine, expire_on_commit=False)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


class Database:
    """The app's database, found through ``current_app``: each app has its own engine.

    Hands out one ORM session per request (``db.session``).
    """

    def init_app(self, app: Flask) -> None:
        """Create the app's engine from ``SQLALCHEMY_URL`` and close the request session on teardown."""
        engine = make_engine(
            app.config["SQLALCHEMY_URL"],
            pool_size=int(app.config.get("DB_POOL_SIZE", 10)),
            max_overflow=int(app.config.get("DB_MAX_OVERFLOW", 40)),
            pool_timeout=float(app.config.get("DB_POOL_TIMEOUT", 10.0)),
            busy_timeout_ms=int(app.config.get("DB_BUSY_TIMEOUT_MS", 10000)),
        )
        app.extensions["database"] = AppDatabase(engine)

        @app.teardown_appcontext
        def _close_session(_exc: BaseException | None) -> None:
            session = g.pop("_db_session", None)
            if session is not None:
                session.close()

    @staticmethod
    def bind(app: Flask, engine: Engine) -> None:
        """Make ``engine`` the database of ``app`` (tests point an app at a locked or missing one)."""
        app.extensions["database"] = AppDatabase(engine)

    @staticmethod
    def _bound() -> AppDatabase:
        bound = current_app.extensions.get("database")
        if bound is None:
            raise RuntimeError("database is not initialised; call init_app first")
        return bound  # type: ignore[no-any-return]

    @property
    def engine(self) -> Engine:
        """The current app's engine; a streaming view takes it before returning its generator."""
        return self._bound().engine

    @property
    def session(self) -> Session:
        """The current request's session."""
        if "_db_session" not in g:
            g._db_session = self.new_session()
        return g._db_session  # type: ignore[no-any-return]

    def new_session(self, *, write: bool = False) -> Session:
        """A fresh session the caller closes.

        ``write=True`` for a session that reads and then writes (creating a user, say): on SQLite it
        begins ``IMMEDIATE``, taking the write lock first, because a deferred reader that later
        writes is refused at once (no busy wait) when another connection writes meanwhile.
        """
        bound = self._bound()
        if write:
            return Session(
                bind=bound.engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False
            )
        return bound.factory()

    def dispose(self) -> None:
        """Close every pooled connection of the current app."""
        self._bound().dispose()


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
