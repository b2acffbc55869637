"""Reading a relayed stream's outcome without touching it.

The relay hands the scanner a copy of every chunk it forwards. The scanner splits complete SSE
frames (blank-line separated, as the runtime's AG-UI encoder writes them) and parses only those
that contain ``"RUN_`` — which every ``RUN_STARTED``, ``RUN_FINISHED`` and ``RUN_ERROR`` frame
does, however its JSON is spaced; a text frame that merely mentions one costs a parse and is then
ignored, since only the event's own top-level ``type`` counts. Frames larger than
:data:`MAX_FRAME_BYTES` (state snapshots) are skipped unread; memory stays bounded whatever the
stream carries.

Outcomes (the ``outcome`` of an ``interrupt.outcome`` row):

* ``accepted`` — the runtime answered with a run that ended in ``RUN_FINISHED`` (whatever its
  AG-UI outcome; a new interrupt, as after ``reroute``, is noted in the row's ``detail``);
* ``refused:<code>`` — a lone ``RUN_ERROR``: the runtime refused the decision before any run
  started (``INTERRUPT_UNKNOWN``, ``INTERRUPT_ANSWERED``, ``INTERRUPT_EXPIRED``,
  ``IDENTITY_MISMATCH``, …);
* ``failed:<code>`` — a run started and ended in ``RUN_ERROR``, or the web app could not get an
  answer: ``failed:<HTTP status>`` (the runtime refused the call before streaming),
  ``failed:UPSTREAM_FAILED``/``failed:INTERNAL`` (the stream broke; the relay added its own
  ``RUN_ERROR``), ``failed:DISCONNECTED`` (the browser left before the terminal event) or
  ``failed:NO_TERMINAL_EVENT`` (the stream ended cleanly without one).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024
"""Frames longer than this are not terminal events (those are small) and are skipped."""

_MARKER = b'"RUN_'
_MAX_INTERRUPT_IDS = 5


@dataclass
class StreamResult:
    """How the relay's stream ended, as the relay saw it."""

    completed: bool = False
    """The upstream ended normally (no break, no client hang-up)."""
    failure: str | None = None
    """The code of the ``RUN_ERROR`` the relay itself appended, if it did."""
    client_gone: bool = False
    bytes_sent: int = 0


@dataclass
class TerminalScanner:
    """Finds ``RUN_STARTED`` and the terminal event in a stream of SSE bytes."""

    started: bool = False
    terminal: str | None = None
    """``"RUN_FINISHED"`` or ``"RUN_ERROR"`` once seen."""
    error_code: str | None = None
    run_outcome: str | None = None
    """``RUN_FINISHED``'s AG-UI outcome type (``success``, ``interrupt``), when it has one."""
    interrupt_ids: list[str] = field(default_factory=list)
    _buffer: bytes = b""
    _skipping: bool = False
    _dead: bool = False

    def feed(self, chunk: bytes) -> None:
        """Look at the next bytes of the stream (never raises)."""
        if self._dead:
            return
        try:
            self._feed(chunk)
        except Exception:  # noqa: BLE001 - observing must never disturb the relay
            logger.exception("terminal scanner failed; the outcome will be unknown")
            self._dead = True
            self._buffer = b""

    def _feed(self, chunk: bytes) -> None:
        buffer = self._buffer + chunk if self._buffer else chunk
        start = 0
        while True:
            end = buffer.find(b"\n\n", start)
            if end < 0:
                break
            if not self._skipping:
                self._frame(buffer[start:end])
            self._skipping = False
            start = end + 2
        rest = buffer[start:]
        if len(rest) > MAX_FRAME_BYTES:
            # Too big to be a terminal event: drop it, keeping one byte so a "\n" + "\n" boundary
            # split across chunks is still found.
            self._skipping = True
            rest = rest[-1:]
        self._buffer = rest

    def _frame(self, raw: bytes) -> None:
        if _MARKER not in raw:
            return
        lines = raw.replace(b"\r\n", b"\n").split(b"\n")
        data = b"\n".join(
            line[6:] if line.startswith(b"data: ") else line[5:]
            for line in lines
            if line.startswith(b"data:")
        )
        try:
            event = json.loads(data)
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        if kind == "RUN_STARTED":
            self.started = True
        elif kind == "RUN_FINISHED":
            self.terminal = "RUN_FINISHED"
            self._finished(event.get("outcome"))
        elif kind == "RUN_ERROR":
            self.terminal = "RUN_ERROR"
            self.error_code = str(event.get("code") or "UNKNOWN")

    def _finished(self, outcome: Any) -> None:
        if isinstance(outcome, dict):
            self.run_outcome = str(outcome.get("type", ""))[:32] or None
            items = outcome.get("interrupts")
            if isinstance(items, list):
                self.interrupt_ids = [
                    str(item["id"])[:100]
                    for item in items[:_MAX_INTERRUPT_IDS]
                    if isinstance(item, dict) and "id" in item
                ]
        elif isinstance(outcome, str):
            self.run_outcome = outcome[:32]

    def outcome(self, result: StreamResult) -> str:
        """The audit outcome of the stream (see the module docstring)."""
        if self.terminal == "RUN_FINISHED":
            return "accepted"
        if self.terminal == "RUN_ERROR":
            return f"{'failed' if self.started else 'refused'}:{self.error_code}"
        if result.failure:
            return f"failed:{result.failure}"
        if result.client_gone or not result.completed:
            return "failed:DISCONNECTED"
        return "failed:NO_TERMINAL_EVENT"

    def detail(self) -> dict[str, Any]:
        """Extra facts for the outcome row."""
        detail: dict[str, Any] = {}
        if self.run_outcome:
            detail["run_outcome"] = self.run_outcome
        if self.interrupt_ids:
            detail["interrupt_ids"] = list(self.interrupt_ids)
        return detail
