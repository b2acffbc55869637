"""A session's per-process event state: SSE sequence ids and the bounded log of build events.

Every frame a session sends carries an id from :meth:`EphemeralState.next_id`, so ids grow across
all of a session's streams. Background work (module builders) appends its events to a bounded,
append-only log; every ``watch`` stream reads the log after its cursor and is woken when more
arrives, so many watchers fan out from one log and a reconnect with ``Last-Event-ID`` resumes
with no gap and no duplicate.

Every stream must be a valid AG-UI run on its own, whatever id it resumes from. So the log also
knows, for any position, which subagents (module builders) are open there — started at or before
it and not yet finished — with their original ``SUBAGENT_STARTED`` data, for a resumed watch to
announce them first (:meth:`EphemeralState.open_subagents`); and a resume point that falls inside
a tool call or text message (``*_START`` … ``*_END``) moves back to that group's start, so the
resumed stream sends the whole group (:meth:`EphemeralState.resume_point`). The unit a watcher
receives is a complete group: a client whose stream broke mid-group never applied it.

The log is in memory only ("ephemeral"): a recycled microVM loses it and a late watcher then
starts from the current canvas snapshot instead. A session loaded from the store starts its ids
above any an earlier life of it can have handed out (a microsecond clock reading, see
:meth:`AgentSessionCache.new_entry`), and reads every older id as a gap: a client reconnecting
with an id from before a restart gets the snapshot, never a replay of some other range. A session
created in this process starts at the clock too (an earlier life may have answered with the router
only, storing nothing, while the page kept its ids): the browser drops a frame whose id is below
its last snapshot's, so a new life must never number from 0 again (issue 9 item 4).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ag_ui.core import (
    BaseEvent,
    SubagentErrorEvent,
    SubagentFinishedEvent,
    SubagentStartedEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallEndEvent,
    ToolCallStartEvent,
)

from agent_runtime.events.sse import encode_data
from agent_runtime.session.channel import Waker

__all__ = ["LogEntry", "EphemeralState", "ReadResult", "SubagentSpan"]

EntryKind = Literal["event", "end"]


@dataclass(frozen=True)
class LogEntry:
    """One logged item: an encoded event, or the end marker of a build.

    Attributes:
        seq: The SSE id.
        data: The encoder's ``data:`` block (for an end marker: the ``budget`` message, else empty).
        kind: ``event`` or ``end``.
        outcome: For an end marker: ``success``, ``cancelled`` or ``budget``.
        group_start: For an entry inside a tool call or text message other than its ``*_END``:
            the seq of the group's ``*_START`` (``0`` otherwise).
    """

    seq: int
    data: str
    kind: EntryKind = "event"
    outcome: str = "success"
    group_start: int = 0


@dataclass
class SubagentSpan:
    """Where one subagent opens and closes in the log.

    Attributes:
        subagent_run_id: The subagent's run id.
        started: The seq of its ``SUBAGENT_STARTED``.
        start_data: The encoded ``SUBAGENT_STARTED`` (re-sent verbatim to announce it).
        ended: The seq of its ``SUBAGENT_FINISHED``/``SUBAGENT_ERROR`` (``0``: still open).
        end_data: The encoded closing event (empty while open).
    """

    subagent_run_id: str
    started: int
    start_data: str
    ended: int = 0
    end_data: str = ""

    def open_at(self, seq: int) -> bool:
        """Whether the subagent is open right after the entry ``seq``."""
        return self.started <= seq and (not self.ended or self.ended > seq)


@dataclass(frozen=True)
class ReadResult:
    """What a watcher reads: entries after its cursor, and whether some were already dropped."""

    entries: list[LogEntry]
    gap: bool


class EphemeralState:
    """Sequence ids plus the bounded build-event log of one session, with watcher wake-ups."""

    def __init__(self, capacity: int, first_id: int = 0, *, new_session: bool = False) -> None:
        """Create an empty log.

        Args:
            capacity: How many entries to keep; older ones are dropped.
            first_id: Ids are handed out after this one; a cursor below it reads as a gap (it
                was given out by an earlier life of the session whose log is gone).
            new_session: The session starts here with an empty canvas (nothing of it was
                stored): no cursor reads as a gap until the log drops entries, since the log
                holds every change the session has had.
        """
        self._lock = threading.Lock()
        self._seq = first_id
        self._log: deque[LogEntry] = deque()
        self._capacity = capacity
        self._dropped_upto = 0 if new_session else first_id
        self._watchers: set[Waker] = set()
        self._spans: dict[str, SubagentSpan] = {}
        self._group_start = 0

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
        encoded = [(event, encode_data(event)) for event in events]
        with self._lock:
            self._group_start = 0  # a tool call or text message never spans two appends
            for event, data in encoded:
                self._seq += 1
                self._push(LogEntry(self._seq, data, group_start=self._track(event, data)))
            watchers = list(self._watchers)
            last = self._seq
        for waker in watchers:
            waker.wake()
        return last

    def append_end(self, outcome: str, detail: str = "") -> int:
        """Log the end marker of a build (``success``, ``cancelled`` or ``budget`` with ``detail``)."""
        with self._lock:
            self._seq += 1
            self._push(LogEntry(self._seq, detail, "end", outcome))
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

    def resume_point(self, cursor: int) -> int:
        """Where a watch resumed after ``cursor`` starts replaying from (exclusive).

        ``cursor`` itself, unless it is inside a tool call or text message: then just before that
        group's ``*_START``, so the resumed stream carries the whole group.
        """
        with self._lock:
            for entry in reversed(self._log):
                if entry.seq <= cursor:
                    return entry.group_start - 1 if entry.seq == cursor and entry.group_start else cursor
            return cursor

    def open_subagents(self, seq: int) -> list[SubagentSpan]:
        """The subagents open right after the entry ``seq``, in the order they started."""
        with self._lock:
            return sorted((s for s in self._spans.values() if s.open_at(seq)), key=lambda s: s.started)

    def subagent(self, subagent_run_id: str) -> SubagentSpan | None:
        """What the log knows of one subagent (``None`` once forgotten)."""
        with self._lock:
            return self._spans.get(subagent_run_id)

    def _track(self, event: BaseEvent, data: str) -> int:
        """Record subagent spans and tool-call/text groups (lock held); returns ``group_start``."""
        seq = self._seq
        if isinstance(event, SubagentStartedEvent):
            self._spans[event.subagent_run_id] = SubagentSpan(event.subagent_run_id, seq, data)
            self._forget_spans()
        elif isinstance(event, SubagentFinishedEvent | SubagentErrorEvent):
            span = self._spans.get(event.subagent_run_id)
            if span is not None and not span.ended:
                span.ended, span.end_data = seq, data
        if isinstance(event, ToolCallStartEvent | TextMessageStartEvent):
            self._group_start = seq
        elif isinstance(event, ToolCallEndEvent | TextMessageEndEvent):
            self._group_start = 0
        return self._group_start

    def _forget_spans(self) -> None:
        # Keep at most one span per log slot; forget the oldest finished ones beyond that.
        excess = len(self._spans) - self._capacity
        if excess <= 0:
            return
        finished = sorted((s for s in self._spans.values() if s.ended), key=lambda s: s.ended)
        for span in finished[:excess]:
            del self._spans[span.subagent_run_id]

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
