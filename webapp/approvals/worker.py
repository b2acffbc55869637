"""The approvals worker: one daemon thread per web app process that, every few seconds, escalates
requests past their SLA, auto-rejects those past their expiry and delivers due notifications.

Nothing lives only in memory: the due times are columns (``required_by``, ``expires_at``,
``next_attempt_at``) and every step is a conditional update, so several processes (gunicorn
workers, several hosts) can run it at once, and a restart picks up where it left off.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask

from ..extensions import db
from .notify import deliver_due
from .service import Policy
from .sla import escalate_due, expire_due

__all__ = ["ApprovalWorker", "tick"]

logger = logging.getLogger(__name__)


def tick(app: Flask) -> dict[str, Any]:
    """One pass: escalate, expire, deliver. Returns what it did (for tests and logs)."""
    with app.app_context():
        engine = db.engine
        policy = Policy.from_config(app.config)
        escalated = escalate_due(engine, policy)
        expired = expire_due(engine, policy)
        sent = deliver_due(engine, app.config)
    if escalated or expired or any(sent.values()):
        logger.info(
            "escalated=<%d>, expired=<%d>, sent=<%d>, retry=<%d>, failed=<%d> | approvals worker pass",
            len(escalated),
            len(expired),
            sent["sent"],
            sent["retry"],
            sent["failed"],
        )
    return {"escalated": escalated, "expired": expired, **sent}


class ApprovalWorker:
    """Runs :func:`tick` every ``APPROVAL_WORKER_SECONDS`` in a daemon thread."""

    def __init__(self, app: Flask, interval: float) -> None:
        """Bind to ``app``; ``start()`` begins."""
        self._app = app
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="approvals-worker", daemon=True)

    def start(self) -> ApprovalWorker:
        """Start the thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the current pass."""
        self._stop.set()
        self._thread.join(timeout=self._interval + 5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                tick(self._app)
            except Exception:  # noqa: BLE001 - a failing pass (database down) is logged and retried
                logger.exception("approvals worker pass failed")
