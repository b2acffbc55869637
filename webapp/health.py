"""``/healthz``: liveness plus whether the database and the runtime answer.

The database check is the one a save needs: on SQLite it takes the write lock (and gives it back
at once), so a database another process holds write-locked is reported, not just one that
answers reads. Anonymous callers (load balancers) see only ``ok`` flags; the runtimes' addresses
and error details are for signed-in users.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db

logger = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

HEALTH_LOCK_TIMEOUT_MS = 1000
"""How long the SQLite check waits for the write lock before it reports the database busy."""


def check_database() -> dict[str, Any]:
    """``{"ok": True}`` when the database takes a write now; else ``ok`` False and why."""
    engine = db.engine
    try:
        if engine.dialect.name == "sqlite":
            raw = engine.raw_connection()
            try:
                cursor = raw.cursor()
                busy = int(current_app.config.get("DB_BUSY_TIMEOUT_MS", 10000))
                cursor.execute(f"PRAGMA busy_timeout={HEALTH_LOCK_TIMEOUT_MS}")
                try:
                    cursor.execute("BEGIN IMMEDIATE")
                    cursor.execute("ROLLBACK")
                finally:
                    cursor.execute(f"PRAGMA busy_timeout={busy}")
                    cursor.close()
            finally:
                raw.close()
        else:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return {"ok": False, "detail": type(exc.orig if hasattr(exc, "orig") else exc).__name__}
    except Exception as exc:  # noqa: BLE001 - the DBAPI's own errors (sqlite3.OperationalError…)
        detail = "write lock unavailable" if "locked" in str(exc) else type(exc).__name__
        return {"ok": False, "detail": detail}
    return {"ok": True}


def _signed_in() -> bool:
    from flask_login import current_user

    try:
        return bool(current_user.is_authenticated)
    except SQLAlchemyError:
        return False


@bp.get("/healthz")
def healthz() -> Any:
    """200 while the database answers (runtime trouble is ``degraded``); 503 when it does not."""
    database = check_database()
    try:
        runtime = current_app.extensions["agent_transport"].ping()
    except Exception as exc:  # noqa: BLE001
        runtime = {"ok": False, "detail": type(exc).__name__}
    status = "ok" if database["ok"] and runtime.get("ok") is not False else "degraded"
    if not database["ok"]:
        status = "down"
        logger.warning("detail=<%s> | health check: database unavailable", database.get("detail"))
    if not (database["ok"] and _signed_in()):
        # No addresses or error details for anonymous callers.
        database = {"ok": database["ok"]}
        runtime = {"ok": runtime.get("ok"), "transport": runtime.get("transport")}
    response = jsonify({"status": status, "database": database, "runtime": runtime})
    response.status_code = 503 if status == "down" else 200
    response.headers["Cache-Control"] = "no-store"
    return response
