"""AgentSessionCache: ``sid → SessionEntry`` with LRU capacity and idle expiry.

An ``OrderedDict`` kept in recency order plus a last-used timestamp per entry (no cachetools:
the one rule a generic cache cannot express is "never evict an entry whose turn or build is
running", so eviction skips busy entries and the cache may briefly exceed its capacity).
Expired entries are swept on every access, oldest first, stopping at the first fresh one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from agent_runtime.approvals.pending import InterruptBook
from agent_runtime.canvas import Canvas
from agent_runtime.contract import ErrorCode
from agent_runtime.errors import RequestRefused
from agent_runtime.session.control import RunControl
from agent_runtime.session.ephemeral import EphemeralState
from agent_runtime.usage.meter import UsageLedger

__all__ = ["BuildHandle", "SessionEntry", "AgentSessionCache"]

logger = logging.getLogger(__name__)


class BuildHandle(Protocol):
    """What the session needs to know about its background build."""

    control: RunControl

    @property
    def running(self) -> bool:
        """Whether any builder is still pending or working."""


@dataclass(eq=False)
class SessionEntry:
    """Everything one session keeps in this process.

    Attributes:
        session_id: The session (AG-UI thread) id.
        user_id: The user the session is locked to.
        vendor_id: The vendor the session is locked to.
        agent_type: The token's agent type.
        canvas: The playbook being built.
        ephemeral: SSE ids and the build-event log.
        active_domain: ``router`` until the router hands off, then ``playbooks``.
        handoff_context: What the router told the orchestrator (first orchestrator turn only).
        agents: Cached Strands agents by name (the orchestrator keeps its conversation here).
        turn: The chat turn in flight, if any.
        build: The latest build, if any.
        last_used: Monotonic time of the last access.
        interrupts: Pending approval requests and recently closed ids.
        revision: The stored revision this entry reflects (0: never stored).
        stamp: The unique stamp of that stored revision (how staleness is detected).
        written_stamps: The stamps of this entry's recent writes, the one being written included
            (taken before the write starts): a stored copy carrying one of them holds nothing
            this entry lacks, even while the write that put it there is still finishing.
        store_manager: The Strands session manager persisting this session (if any).
        persist_lock: Serialises writes of this entry to the session store.
        usage: Model tokens and cost of the whole session so far (turns and builds).
        dropped: Set (under ``persist_lock``) when ``reset`` drops the entry: it is never written
            again, so work still winding down cannot bring a deleted session back.
        cut_build: Set on rehydration when the stored session was mid-build (a crash cut the
            build short): the modules it was building, until the keeper settles it.
    """

    session_id: str
    user_id: int
    vendor_id: int
    agent_type: str
    canvas: Canvas
    ephemeral: EphemeralState
    active_domain: str = "router"
    handoff_context: str | None = None
    agents: dict[str, Any] = field(default_factory=dict)
    turn: RunControl | None = None
    build: BuildHandle | None = None
    last_used: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    interrupts: InterruptBook = field(default_factory=InterruptBook)
    documents: list[dict[str, Any]] = field(default_factory=list)
    """Documents attached in this session (newest last): name, title, outline, capped Markdown."""
    revision: int = 0
    stamp: str = ""
    written_stamps: deque[str] = field(default_factory=lambda: deque(maxlen=8))
    store_manager: Any = None
    persist_lock: threading.Lock = field(default_factory=threading.Lock)
    usage: UsageLedger = field(default_factory=UsageLedger)
    dropped: bool = False
    cut_build: list[int] | None = None

    def holds(self, stored_stamp: Any) -> bool:
        """Whether the stored copy with ``stored_stamp`` holds nothing this entry lacks."""
        return bool(stored_stamp) and (stored_stamp == self.stamp or stored_stamp in self.written_stamps)

    @property
    def busy(self) -> bool:
        """Whether a turn or a build is running (such an entry is never evicted)."""
        build = self.build
        return self.turn is not None or (build is not None and build.running)

    def begin_turn(self, run_id: str) -> RunControl:
        """Claim the session for one chat turn.

        Raises:
            RequestRefused: ``SESSION_BUSY`` when a turn is already running.
        """
        with self.lock:
            if self.turn is not None:
                raise RequestRefused("another turn is running in this session", ErrorCode.SESSION_BUSY)
            self.turn = RunControl(run_id)
            return self.turn

    def end_turn(self, control: RunControl) -> None:
        """Release the session after a turn; signals anyone waiting for it."""
        with self.lock:
            if self.turn is control:
                self.turn = None
        control.finish()

    def cancel_all(self, reason: str) -> list[RunControl]:
        """Cancel the running turn and build; returns the handles that were running."""
        with self.lock:
            running = [
                c for c in (self.turn, self.build.control if self.build and self.build.running else None) if c
            ]
        for control in running:
            control.cancel(reason)
        return running


def _first_id() -> int:
    """Where a new life of a session starts its SSE ids: the wall clock in microseconds.

    Above every id an earlier life of the session handed out (it cannot have sent more than one
    frame per microsecond), whether it was stored or not (a runtime restarted after only the
    router answered stores nothing, yet the page kept those ids); exact as a JavaScript number
    (below 2**53 until the year 2255).
    """
    return time.time_ns() // 1000


class AgentSessionCache:
    """Bounded, thread-safe map of live sessions."""

    def __init__(
        self,
        *,
        capacity: int,
        idle_seconds: float,
        event_log_size: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create an empty cache.

        Args:
            capacity: Entries kept before the least recently used idle one is evicted.
            idle_seconds: Entries unused this long are dropped (unless busy).
            event_log_size: Capacity of each session's build-event log.
            clock: Monotonic clock (tests pass a fake one).
        """
        self._capacity = capacity
        self._idle = idle_seconds
        self._log_size = event_log_size
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, SessionEntry] = OrderedDict()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, session_id: object) -> bool:
        with self._lock:
            return session_id in self._entries

    def get_or_create(
        self, session_id: str, *, user_id: int, vendor_id: int, agent_type: str
    ) -> SessionEntry:
        """The session's entry, created on first use; identity is locked at creation.

        A created entry's SSE ids start at :func:`_first_id` (a page may hold ids of an earlier
        life of the session that stored nothing); its log still replays from any cursor below.

        Raises:
            RequestRefused: ``IDENTITY_MISMATCH`` when the entry belongs to another user or vendor.
        """
        now = self._clock()
        with self._lock:
            self._sweep(now)
            entry = self._entries.get(session_id)
            if entry is None:
                entry = SessionEntry(
                    session_id=session_id,
                    user_id=user_id,
                    vendor_id=vendor_id,
                    agent_type=agent_type,
                    canvas=Canvas(),
                    ephemeral=EphemeralState(self._log_size, first_id=_first_id(), new_session=True),
                )
                self._entries[session_id] = entry
                self._evict_over_capacity()
                logger.info(
                    "session_id=<%s>, sessions=<%d> | session created", session_id, len(self._entries)
                )
            elif entry.user_id != user_id or entry.vendor_id != vendor_id:
                raise RequestRefused("this session belongs to another user", ErrorCode.IDENTITY_MISMATCH)
            entry.last_used = now
            self._entries.move_to_end(session_id)
            return entry

    def new_entry(self, session_id: str, *, user_id: int, vendor_id: int, agent_type: str) -> SessionEntry:
        """A fresh entry (not yet in the cache) to rehydrate from the session store.

        Its SSE ids start at :func:`_first_id`, and every older id reads as a gap (the canvas
        loaded from the store may hold changes a client of the earlier life lacks).
        """
        return SessionEntry(
            session_id=session_id,
            user_id=user_id,
            vendor_id=vendor_id,
            agent_type=agent_type,
            canvas=Canvas(),
            ephemeral=EphemeralState(self._log_size, first_id=_first_id()),
        )

    def adopt(self, entry: SessionEntry) -> SessionEntry:
        """Put a rehydrated entry in the cache, replacing any idle one for the same session.

        Returns:
            The cached entry: ``entry``, or the existing one when that is busy (a turn or build
            is running, so it is the freshest there is).
        """
        now = self._clock()
        with self._lock:
            self._sweep(now)
            current = self._entries.get(entry.session_id)
            if current is not None and current is not entry and current.busy:
                return current
            entry.last_used = now
            self._entries[entry.session_id] = entry
            self._entries.move_to_end(entry.session_id)
            self._evict_over_capacity()
            logger.info(
                "session_id=<%s>, revision=<%d> | session rehydrated", entry.session_id, entry.revision
            )
            return entry

    def get(self, session_id: str) -> SessionEntry | None:
        """The entry if present (touching it), else ``None``."""
        now = self._clock()
        with self._lock:
            self._sweep(now)
            entry = self._entries.get(session_id)
            if entry is not None:
                entry.last_used = now
                self._entries.move_to_end(session_id)
            return entry

    def touch(self, entry: SessionEntry) -> None:
        """Mark an entry used now (e.g. when its turn or build finishes)."""
        with self._lock:
            entry.last_used = self._clock()
            if self._entries.get(entry.session_id) is entry:
                self._entries.move_to_end(entry.session_id)

    def delete(self, session_id: str) -> SessionEntry | None:
        """Remove an entry (``reset``); returns it so the caller can cancel its work."""
        with self._lock:
            return self._entries.pop(session_id, None)

    def entries(self) -> list[SessionEntry]:
        """A snapshot list of the entries (oldest first)."""
        with self._lock:
            return list(self._entries.values())

    def sweep(self) -> None:
        """Drop idle entries now."""
        with self._lock:
            self._sweep(self._clock())

    # ------------------------------------------------------------------ internals (lock held)

    def _sweep(self, now: float) -> None:
        expired: list[str] = []
        for sid, entry in self._entries.items():
            if now - entry.last_used < self._idle:
                break
            if not entry.busy:
                expired.append(sid)
        for sid in expired:
            del self._entries[sid]
            logger.info("session_id=<%s> | idle session expired", sid)

    def _evict_over_capacity(self) -> None:
        if len(self._entries) <= self._capacity:
            return
        for sid in list(self._entries):
            if len(self._entries) <= self._capacity:
                break
            entry = self._entries[sid]
            if entry.busy or sid == next(reversed(self._entries)):
                continue
            del self._entries[sid]
            logger.info("session_id=<%s> | least recently used session evicted", sid)
