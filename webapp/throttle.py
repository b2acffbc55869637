"""Login throttling: Flask-Limiter, counting in the web app's own database.

Flask-Limiter (with the ``limits`` library) decides and answers (429 with ``Retry-After``); its
counters live in the ``rate_limit_counter`` table through :class:`DatabaseStorage`, so every
gunicorn worker and every web app instance behind a load balancer shares them, with no Redis or
memcached to run. Only the fixed-window strategy is used, which needs nothing but an atomic
increment: one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (SQLite ≥ 3.35 and Postgres).

Only refused sign-ins count (``deduct_when``): a person who types the right password is never
slowed down, and a burst of wrong ones is stopped per account and per address.

The limiter's per-request check (its ``before_request`` hook) is skipped for the streaming
endpoints (:func:`skip_check_for`): they carry no limit, and opening a stream is the web app's
hottest path. A limit declared on a view with ``@limiter.limit`` is checked by its own decorator
whatever the hook did, so a limit added to such a view later still holds.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Collection
from typing import Any

from flask import Flask, current_app, request
from flask_limiter import Limiter, RequestLimit
from limits.storage import Storage
from sqlalchemy import Engine, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from .models import RateLimitCounter

logger = logging.getLogger(__name__)

__all__ = ["DatabaseStorage", "limiter", "account_key", "address_key", "login_refused", "skip_check_for"]


def _engine() -> Engine:
    return current_app.extensions["database"].engine  # type: ignore[no-any-return]


class DatabaseStorage(Storage):
    """A ``limits`` storage on the app's SQLAlchemy engine (fixed windows only).

    Registered for the ``appdb://`` scheme; it needs an application context (it uses the current
    app's engine), which Flask-Limiter always has when it counts.
    """

    STORAGE_SCHEME = ["appdb"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **_: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to ``key``'s window, starting a new window if the old one ended."""
        engine = _engine()
        now = time.time()
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(RateLimitCounter).values(key=key, count=amount, expires_at=now + expiry)
        expired = RateLimitCounter.expires_at <= now
        stmt = stmt.on_conflict_do_update(
            index_elements=[RateLimitCounter.key],
            set_={
                "count": case((expired, amount), else_=RateLimitCounter.count + amount),
                "expires_at": case((expired, now + expiry), else_=RateLimitCounter.expires_at),
            },
        ).returning(RateLimitCounter.count)
        with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
            return int(conn.execute(stmt).scalar_one())

    def _row(self, key: str) -> tuple[int, float] | None:
        with _engine().connect() as conn:
            row = conn.execute(
                select(RateLimitCounter.count, RateLimitCounter.expires_at).where(RateLimitCounter.key == key)
            ).first()
        if row is None or row[1] <= time.time():
            return None
        return int(row[0]), float(row[1])

    def get(self, key: str) -> int:
        """The count in ``key``'s current window (0 once it ended)."""
        row = self._row(key)
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        """When ``key``'s window ends (epoch seconds)."""
        row = self._row(key)
        return row[1] if row else time.time()

    def check(self) -> bool:
        """Whether the database answers."""
        try:
            with _engine().connect() as conn:
                conn.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every counter."""
        with _engine().connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
            return conn.execute(delete(RateLimitCounter)).rowcount

    def clear(self, key: str) -> None:
        """Forget one counter."""
        with _engine().connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
            conn.execute(delete(RateLimitCounter).where(RateLimitCounter.key == key))


def address_key() -> str:
    """The client's address (``request.remote_addr``; behind ``TRUSTED_PROXIES``, the forwarded one)."""
    return f"addr:{request.remote_addr or 'unknown'}"


def account_key() -> str:
    """The account being tried (the submitted email, normalised as sign-in does)."""
    email = str(request.form.get("email", "")).strip().lower()
    digest = hashlib.sha256(email.encode("utf-8", "replace")).hexdigest()[:32]
    return f"acct:{digest}"


def login_refused(response: Any) -> bool:
    """Only refused sign-ins count against the limits."""
    return int(getattr(response, "status_code", 0)) == 401


def _on_breach(limit: RequestLimit) -> None:
    logger.warning("key=<%s>, limit=<%s> | login throttled", limit.key.split("/")[-1], limit.limit)


limiter = Limiter(
    key_func=address_key,
    storage_uri="appdb://",
    strategy="fixed-window",
    headers_enabled=True,
    default_limits=[],
    on_breach=_on_breach,
)


def skip_check_for(app: Flask, endpoints: Collection[str]) -> None:
    """Skip the limiter's ``before_request`` check for ``endpoints`` (call after ``init_app``).

    The check resolves every limit that could apply (application, default, blueprint, meta) for
    every request; for endpoints without any that is pure overhead.

    Raises:
        RuntimeError: the limiter's hook is not installed on ``app``.
    """
    hooks = app.before_request_funcs.setdefault(None, [])
    check: Callable[[], None] = limiter._check_request_limit
    try:
        index = hooks.index(check)
    except ValueError:
        raise RuntimeError("the rate limiter is not initialised on this app") from None
    skipped = frozenset(endpoints)

    def check_request_limit() -> None:
        if request.endpoint not in skipped:
            check()

    hooks[index] = check_request_limit
