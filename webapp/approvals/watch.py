"""Recording a run's pause while its stream is relayed (a read-only observer of the bytes).

When the relayed stream carries ``RUN_FINISHED`` with an interrupt outcome, its interrupts become
approval requests — written *before* that frame is forwarded, so by the time the page sees the
pause the request is in the queue. The closing ``STATE_SNAPSHOT`` (kept if under
:data:`MAX_SNAPSHOT_BYTES`) is the canvas the operator sees.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import Engine

from ..audit import AuditContext, StreamResult
from .service import Policy, record_requests

__all__ = ["ApprovalWatcher", "Observers"]

logger = logging.getLogger(__name__)

MAX_SNAPSHOT_BYTES = 1024 * 1024


class ApprovalWatcher:
    """Feeds on a relayed stream; records its pause."""

    def __init__(self, engine: Engine, who: AuditContext, policy: Policy, session_id: str) -> None:
        """Record for ``who`` in ``session_id``."""
        self._engine = engine
        self._who = who
        self._policy = policy
        self._session_id = session_id
        self._buffer = b""
        self._snapshot: dict[str, Any] = {}
        self.recorded: list[str] = []

    def feed(self, chunk: bytes) -> None:
        """A copy of the next chunk, before it is forwarded."""
        self._buffer += chunk
        while True:
            end = self._buffer.find(b"\n\n")
            if end < 0:
                break
            frame, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
            self._frame(frame)
        if len(self._buffer) > MAX_SNAPSHOT_BYTES:
            self._buffer = b""  # an oversized frame: not one we need

    def _frame(self, raw: bytes) -> None:
        if b'"STATE_SNAPSHOT"' not in raw and b'"RUN_FINISHED"' not in raw:
            return
        data = b"\n".join(line[5:].lstrip(b" ") for line in raw.split(b"\n") if line.startswith(b"data:"))
        try:
            event = json.loads(data)
        except ValueError:
            return
        if event.get("type") == "STATE_SNAPSHOT" and isinstance(event.get("snapshot"), dict):
            self._snapshot = event["snapshot"]
        elif event.get("type") == "RUN_FINISHED":
            outcome = event.get("outcome")
            if isinstance(outcome, dict) and outcome.get("type") == "interrupt":
                items = [i for i in outcome.get("interrupts") or [] if isinstance(i, dict)]
                with self._engine.begin() as conn:
                    self.recorded = record_requests(
                        conn, self._who, self._policy, self._session_id, items, self._snapshot
                    )
                logger.info(
                    "session_id=<%s>, requests=<%s> | approval requests recorded",
                    self._session_id,
                    self.recorded,
                )

    def closed(self, result: StreamResult) -> None:
        """Nothing to do at the end."""


class Observers:
    """Several observers as one (each failure is contained by the relay's rules: logged, dropped)."""

    def __init__(self, *observers: Any) -> None:
        """Observers in call order (``None`` entries are skipped)."""
        self._observers = [o for o in observers if o is not None]

    def feed(self, chunk: bytes) -> None:
        """Each observer sees the chunk."""
        for observer in list(self._observers):
            try:
                observer.feed(chunk)
            except Exception:  # noqa: BLE001 - observing never disturbs the relay
                logger.exception("stream observer failed; dropped")
                self._observers.remove(observer)

    def closed(self, result: StreamResult) -> None:
        """Each observer hears the end."""
        for observer in self._observers:
            try:
                observer.closed(result)
            except Exception:  # noqa: BLE001
                logger.exception("stream observer failed at close")
