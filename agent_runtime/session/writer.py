"""Writing sessions to the store, and the stored stop flag.

A session's durable part lives in one Strands session (see :mod:`agent_runtime.session.store`)
whose only agent holds it: Strands' session manager persists that agent's conversation and
interrupt state (a paused tool call), and its ``agent.state["portal"]`` holds the rest —
:func:`portal_state` lists it: locked identity, canvas (playbook, phase, version), active domain,
handoff context, pending interrupts with expiry, and a ``stamp`` that changes with every write.

:class:`SessionWriter` is built once at start-up, before the builders and the
:class:`~agent_runtime.persistence.SessionKeeper` that both use it:

* **Write** (:meth:`SessionWriter.persist`): after every chat turn and ``resume_interrupt``
  (before the turn's terminal event), and when a build's module finishes or the build ends
  (:meth:`SessionWriter.store_between_turns`). A session that never reached the orchestrator (only
  the router answered) has nothing durable and is not written.
* **Ownership**: a stored copy whose stamp this entry wrote — the write in progress included — is
  never taken for another runtime's write (:meth:`SessionEntry.holds`); an entry ``reset``
  dropped is never written again; a background write never overwrites a copy another runtime
  wrote (``if_current``).
* **Stop flag**: a ``stop`` landing on a runtime that does not run the session's turn raises the
  stored flag; the running turn or build polls it (:meth:`SessionWriter.probe`).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from agent_runtime.canvas import Canvas
from agent_runtime.contract import ErrorCode, TokenClaims
from agent_runtime.errors import RequestRefused
from agent_runtime.session.cache import AgentSessionCache, SessionEntry
from agent_runtime.session.control import RunControl
from agent_runtime.session.remote_stop import RemoteStop
from agent_runtime.session.store import SessionStore, commit
from agent_runtime.session.store.journal import SessionGone
from agent_runtime.strands_compat import hand_over_state

__all__ = ["PORTAL_KEY", "SessionWriter", "check_identity", "portal_state"]

logger = logging.getLogger(__name__)

PORTAL_KEY = "portal"
_FORMAT = 1


def portal_state(entry: SessionEntry) -> dict[str, Any]:
    """The runtime's durable part of a session (JSON-able), without ``revision``/``stamp``."""
    with entry.canvas.lock:
        canvas = entry.canvas.to_dict()
    build = entry.build
    building = list(getattr(build, "module_indices", [])) if build is not None and build.running else []
    return {
        "format": _FORMAT,
        "user_id": entry.user_id,
        "vendor_id": entry.vendor_id,
        "agent_type": entry.agent_type,
        "canvas": canvas,
        "active_domain": entry.active_domain,
        "handoff_context": entry.handoff_context,
        "interrupts": entry.interrupts.to_dict(),
        "usage": entry.usage.total.to_dict(),
        "documents": list(entry.documents),
        "building_modules": building,
    }


def check_identity(user_id: Any, vendor_id: Any, claims: TokenClaims) -> None:
    """Refuse a token whose user or vendor is not the session's.

    Raises:
        RequestRefused: ``IDENTITY_MISMATCH``.
    """
    if user_id != claims.uid or vendor_id != claims.vid:
        raise RequestRefused("this session belongs to another user", ErrorCode.IDENTITY_MISMATCH)


def _stored_message_count(manager: Any, agent: Any) -> int:
    """How many messages the session manager has stored for the agent (ids ``0…n-1``)."""
    latest = getattr(manager, "_latest_agent_message", {}).get(agent.agent_id)
    if latest is not None:
        return int(latest.message_id) + 1
    removed = int(getattr(agent.conversation_manager, "removed_message_count", 0) or 0)
    return removed + len(agent.messages)


class SessionWriter:
    """Writes sessions to the store and reads back what a write needs; the stored stop flag."""

    def __init__(
        self, *, store: SessionStore, cache: AgentSessionCache, agent_id: str, stop_poll_seconds: float
    ) -> None:
        """Bind the store (no I/O).

        Args:
            store: Where sessions outlive the process.
            cache: The process's sessions (a finished build marks its entry recently used).
            agent_id: The agent whose Strands session state holds the durable part (the
                orchestrator's name in ``agents.yaml``).
            stop_poll_seconds: How often a run checks the stored stop flag.
        """
        self.store = store
        self.agent_id = agent_id
        self._cache = cache
        self._poll = stop_poll_seconds

    # ------------------------------------------------------------------ writing

    def persist(self, entry: SessionEntry, *, if_current: bool = False) -> None:
        """Write the session's durable part (no-op without a store or the agent).

        Blocking (store I/O): call it off the event loop where that matters.

        Args:
            entry: The session.
            if_current: Write only if the stored copy is still this entry's own (background
                writes, e.g. a build finishing: another runtime may have taken a turn, or a
                ``reset`` there deleted the session, since this entry was last written).
        """
        cached = entry.agents.get(self.agent_id)
        manager = entry.store_manager
        if not self.store.durable or cached is None or manager is None:
            return
        agent = cached[0]
        with entry.persist_lock:
            if entry.dropped:
                logger.info("session_id=<%s> | session was reset; not stored again", entry.session_id)
                return
            if if_current and entry.revision > 0:
                stored = self.stored_portal(entry.session_id)
                if stored is None or not entry.holds(stored.get("stamp")):
                    logger.warning(
                        "session_id=<%s> | the stored session changed elsewhere; not overwriting it",
                        entry.session_id,
                    )
                    return
            state = portal_state(entry)
            state["revision"] = entry.revision + 1
            state["stamp"] = uuid.uuid4().hex
            state["messages"] = _stored_message_count(manager, agent)
            # Known as this entry's own before the write starts: an ``open`` that reads the store
            # while the write is finishing must not take it for another runtime's write.
            entry.written_stamps.append(state["stamp"])
            hand_over_state(agent, PORTAL_KEY, state)  # built just now: no defensive copy
            commit(manager, agent)
            entry.revision, entry.stamp = state["revision"], state["stamp"]
        logger.debug("session_id=<%s>, revision=<%d> | session stored", entry.session_id, entry.revision)

    def persist_quietly(self, entry: SessionEntry, *, if_current: bool = False) -> None:
        """:meth:`persist`, logging instead of raising (a store outage must not fail a turn).

        A session deleted meanwhile (``SessionGone``: a ``reset``, possibly on another runtime) is
        logged as such, without a traceback: not writing it back is the intended outcome.
        """
        try:
            self.persist(entry, if_current=if_current)
        except SessionGone:
            logger.info("session_id=<%s> | session was deleted meanwhile; not stored again", entry.session_id)
        except Exception:
            logger.exception("session_id=<%s> | could not store the session", entry.session_id)

    def store_between_turns(self, entry: SessionEntry) -> None:
        """A builder's write (a module or a whole build finished): only between turns, only over our own copy.

        A turn running now stores the session itself when it ends; writing mid-turn would store
        half a turn's conversation (and canvas) as if it were complete. Nor over a copy another
        runtime wrote (or deleted) meanwhile.
        """
        if entry.turn is None:
            self.persist_quietly(entry, if_current=True)

    def build_finished(self, entry: SessionEntry) -> None:
        """A build ended: the entry was just used, and is stored if no turn runs."""
        self._cache.touch(entry)
        self.store_between_turns(entry)

    def delete(self, session_id: str, dropped: SessionEntry | None = None) -> None:
        """Delete the stored session (``reset``).

        Args:
            session_id: The session.
            dropped: The entry ``reset`` took out of the cache, if any: marked so that its turn or
                build, still winding down, does not write the session back afterwards.
        """
        if dropped is not None:
            with dropped.persist_lock:  # waits for a write in progress, which the delete then removes
                dropped.dropped = True
        if self.store.durable:
            self.store.delete(session_id)

    # ------------------------------------------------------------------ reading back

    def stored_portal(self, session_id: str) -> dict[str, Any] | None:
        """The stored durable part (``None`` when nothing is stored)."""
        if not self.store.durable:
            return None
        state = self.store.read_agent_state(session_id, self.agent_id)
        portal = (state or {}).get(PORTAL_KEY)
        return dict(portal) if isinstance(portal, dict) else None

    def check_stored_identity(self, claims: TokenClaims) -> None:
        """Refuse a token whose user or vendor is not the stored session's (when stored).

        Raises:
            RequestRefused: ``IDENTITY_MISMATCH``.
        """
        stored = self.stored_portal(claims.sid)
        if stored is not None:
            check_identity(stored.get("user_id"), stored.get("vendor_id"), claims)

    def stored_canvas(self, session_id: str) -> Canvas | None:
        """The stored canvas (for a ``stop`` answered by a runtime that does not hold the session)."""
        try:
            stored = self.stored_portal(session_id)
            return Canvas.from_dict(stored["canvas"]) if stored and stored.get("canvas") else None
        except Exception:
            logger.exception("session_id=<%s> | could not read the stored canvas", session_id)
            return None

    # ------------------------------------------------------------------ stop flag

    def request_stop(self, session_id: str) -> bool:
        """Raise the stored stop flag (reaches a turn running on another runtime)."""
        try:
            return self.store.set_stop(session_id)
        except Exception:
            logger.exception("session_id=<%s> | could not raise the stored stop flag", session_id)
            return False

    def clear_stop(self, session_id: str) -> None:
        """Lower the stored stop flag (at the start of a turn)."""
        try:
            self.store.clear_stop(session_id)
        except Exception:
            logger.exception("session_id=<%s> | could not clear the stored stop flag", session_id)

    def probe(self, session_id: str, control: RunControl) -> RemoteStop | None:
        """A throttled check of the stored stop flag for one run (``None`` without a store)."""
        if not self.store.durable:
            return None
        return RemoteStop(self.store, session_id, control, self._poll)

    @property
    def poll_seconds(self) -> float:
        """How often a run checks the stored stop flag."""
        return self._poll
