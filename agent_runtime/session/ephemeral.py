"""A session's per-process event state: SSE sequence ids and the bounded log of build events.

Every frame a session sends carries an id from :meth:`EphemeralState.next_id`, so ids grow across
all of a session's streams. Background work (module builders) appends its events to a bounded,
append-only log; every ``watch`` stream reads the log after its cursor and is woken when more
arrives, so many watchers fan out from one log and a reconnect with ``Last-Event-ID`` resumes
with no gap and no duplicate.

The log is in memory only ("ephemeral"): a recycled microVM loses it and a late watcher then
starts from the current canvas snapshot instead.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ag_ui.core import BaseEvent

from agent_runtime.events.sse import encode_data
from agent_runtime.session.channel import Waker

__all__ = ["LogEntry", "EphemeralState", "ReadResult"]

EntryKind = Literal["event", "end"]


@dataclass(frozen=True)
class LogEntry:
    """One logged item: an encoded event, or the end marker of a build.

    Attributes:
        seq: The SSE id.
        data: The encoder's ``data:`` block (empty for an end marker).
        kind: ``event`` or ``end``.
        outcome: For an end marker: ``success`` or ``cancelled``.
    """

    seq: int
    data: str
    kind: EntryKind = "event"
    outcome: str = "success"


@dataclass(frozen=True)
class ReadResult:
    """What a watcher reads: entries after its cursor, and whether some were already dropped."""

    entries: list[LogEntry]
    gap: bool


class EphemeralState:
    """Sequence ids plus the bounded build-event log of one session, with watcher wake-ups."""

    def __init__(self, capacity: int) -> None:
        """Create an empty log.

        Args:
            capacity: How many entries to keep; older ones are dropped.
        """
        self._lock = threading.Lock()
        self._seq = 0
        self._log: deque[LogEntry] = deque()
        self._capacity = capacity
        self._dropped_upto = 0
        self._watchers: set[Waker] = set()

    # ------------------------------------------------------------------ ids

    def next_id(self) -> int:
        """Take the next SSE id."""
        with self._lock:
            self._seq += 1
            return self._seq

    def head(self) -> int:
        """The last id handed out."""
        with self._lock:
            return self._seq

    # ------------------------------------------------------------------ log

    def append(self, events: Iterable[BaseEvent]) -> int:
        """Log events (atomically, in order) and wake every watcher.

        Returns:
            The id of the last appended entry.
        """
        encoded = [encode_data(event) for event in events]
        with self._lock:
            for data in encoded:
                self._seq += 1
                self._push(LogEntry(self._seq, data))
            watchers = list(self._watchers)
            last = self._seq
        for waker in watchers:
            waker.wake()
        return last

    def append_end(self, outcome: str) -> int:
        """Log the end marker of a build (``success`` or ``cancelled``) and wake watchers."""
        with self._lock:
            self._seq += 1
            self._push(LogEntry(self._seq, "", "end", outcome))
            watchers = list(self._watchers)
            last = self._seq
        for waker in watchers:
            waker.wake()
        return last

    def read_after(self, cursor: int) -> ReadResult:
        """Entries with ``seq > cursor``; ``gap`` when the log no longer reaches back that far."""
        with self._lock:
            gap = cursor < self._dropped_upto
            entries = [entry for entry in self._log if entry.seq > cursor] if self._log else []
            return ReadResult(entries, gap)

    def _push(self, entry: LogEntry) -> None:
        self._log.append(entry)
        while len(self._log) > self._capacity:
            self._dropped_upto = self._log.popleft().seq

    # ------------------------------------------------------------------ watchers

    def subscribe(self, waker: Waker) -> None:
        """Register a watcher's waker."""
        with self._lock:
            self._watchers.add(waker)

    def unsubscribe(self, waker: Waker) -> None:
        """Forget a watcher's waker."""
        with self._lock:
            self._watchers.discard(waker)

    def clear_if_idle(self, waker: Waker, cursor: int) -> bool:
        """Clear the waker unless entries after ``cursor`` exist; ``True`` when it was cleared."""
        with self._lock:
            if self._log and self._log[-1].seq > cursor:
                return False
            waker.clear()
            return True
