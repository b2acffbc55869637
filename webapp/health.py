"""``/healthz``: liveness plus whether the database and the runtime answer."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from .extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    """200 while the database answers (runtime trouble is ``degraded``); 503 when it does not."""
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database: dict[str, Any] = {"ok": True}
    except Exception as exc:  # noqa: BLE001 - any failure means "not ok"
        database = {"ok": False, "detail": type(exc).__name__}
    try:
        runtime = current_app.extensions["agent_transport"].ping()
    except Exception as exc:  # noqa: BLE001
        runtime = {"ok": False, "detail": type(exc).__name__}
    status = "ok" if database["ok"] and runtime.get("ok") is not False else "degraded"
    if not database["ok"]:
        status = "down"
    response = jsonify({"status": status, "database": database, "runtime": runtime})
    response.status_code = 503 if not database["ok"] else 200
    response.headers["Cache-Control"] = "no-store"
    return response
