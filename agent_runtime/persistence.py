"""Durable sessions: load a session from the store on a cache miss, write it back after each turn.

The session's durable part lives in one Strands session (see :mod:`agent_runtime.session.store`)
whose only agent is the orchestrator: Strands' session manager persists its conversation and its
interrupt state (a paused tool call), and its ``agent.state["portal"]`` holds the rest —
:func:`portal_state` lists it: locked identity, canvas (playbook, phase, version), active domain,
handoff context, pending interrupts with expiry, and a ``stamp`` that changes with every write.

* **Write** (:meth:`SessionKeeper.persist`): after every chat turn and ``resume_interrupt``, and
  when a build finishes or stops. A session that never reached the orchestrator (only the router
  answered) has nothing durable and is not written.
* **Read** (:meth:`SessionKeeper.open`): on a cache miss, creating the orchestrator with the
  session manager restores the conversation and interrupt state, then the portal state is applied
  to a fresh entry. A cached entry is checked against the stored ``stamp`` before each turn, so a
  turn that ran on another runtime is never overwritten by a stale copy; an entry whose session
  was deleted elsewhere (``reset``) is dropped.
* **Identity**: the stored user and vendor are the session's locked identity, enforced after
  rehydration exactly like in the cache (``IDENTITY_MISMATCH``).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from typing import Any

from strands import Agent

from agent_runtime.agents.orchestrator import BuildStarter, OrchestratorApplier, get_orchestrator
from agent_runtime.agents.registry import ORCHESTRATOR, AgentRegistry
from agent_runtime.approvals.pending import InterruptBook
from agent_runtime.approvals.rules import ApprovalRule
from agent_runtime.canvas import Canvas
from agent_runtime.contract import ErrorCode, TokenClaims
from agent_runtime.errors import RequestRefused
from agent_runtime.session.cache import AgentSessionCache, SessionEntry
from agent_runtime.session.control import RunControl
from agent_runtime.session.remote_stop import RemoteStop
from agent_runtime.session.store import SessionStore

__all__ = ["PORTAL_KEY", "SessionKeeper", "portal_state", "apply_portal_state"]

logger = logging.getLogger(__name__)

PORTAL_KEY = "portal"
_FORMAT = 1


def portal_state(entry: SessionEntry) -> dict[str, Any]:
    """The runtime's durable part of a session (JSON-able), without ``revision``/``stamp``."""
    with entry.canvas.lock:
        canvas = entry.canvas.to_dict()
    return {
        "format": _FORMAT,
        "user_id": entry.user_id,
        "vendor_id": entry.vendor_id,
        "agent_type": entry.agent_type,
        "canvas": canvas,
        "active_domain": entry.active_domain,
        "handoff_context": entry.handoff_context,
        "interrupts": entry.interrupts.to_dict(),
        "documents": list(entry.documents),
    }


def apply_portal_state(entry: SessionEntry, state: dict[str, Any]) -> None:
    """Restore an entry from :func:`portal_state` (plus ``revision``/``stamp``)."""
    entry.canvas = Canvas.from_dict(state.get("canvas") or {})
    entry.active_domain = str(state.get("active_domain") or "router")
    entry.handoff_context = state.get("handoff_context")
    entry.interrupts = InterruptBook.from_dict(state.get("interrupts"))
    entry.documents = list(state.get("documents") or [])
    entry.revision = int(state.get("revision", 0))
    entry.stamp = str(state.get("stamp", ""))


class SessionKeeper:
    """Opens sessions (cache, else store) and writes them back."""

    def __init__(
        self,
        *,
        store: SessionStore,
        cache: AgentSessionCache,
        registry: AgentRegistry,
        models: Any,
        builds: BuildStarter,
        rules: Sequence[ApprovalRule],
        stop_poll_seconds: float,
    ) -> None:
        """Bind the collaborators (no I/O)."""
        self.store = store
        self._cache = cache
        self._registry = registry
        self._models = models
        self._builds = builds
        self._rules = tuple(rules)
        self._poll = stop_poll_seconds
        self._load_lock = threading.Lock()

    # ------------------------------------------------------------------ agents

    def orchestrator(self, entry: SessionEntry) -> tuple[Agent, OrchestratorApplier]:
        """The session's orchestrator, created on first use with the session manager."""
        if self.store.durable and entry.store_manager is None and ORCHESTRATOR not in entry.agents:
            entry.store_manager = self.store.manager(entry.session_id)
        return get_orchestrator(
            entry,
            spec=self._registry.get(ORCHESTRATOR),
            model_factory=self._models,
            builds=self._builds,
            rules=self._rules,
            session_manager=entry.store_manager,
        )

    # ------------------------------------------------------------------ opening

    def open(self, claims: TokenClaims, *, create: bool) -> SessionEntry | None:
        """The session's entry: cached and fresh, else rehydrated, else (``create``) new.

        Blocking (store I/O): call it off the event loop.

        Raises:
            RequestRefused: ``IDENTITY_MISMATCH`` when the session belongs to another user or vendor.
        """
        sid = claims.sid
        with self._load_lock:
            entry = self._cache.get(sid)
            if entry is not None:
                _check_identity(entry.user_id, entry.vendor_id, claims)
                if not self.store.durable or entry.busy:
                    return entry
            stored = self._stored_portal(sid)
            if stored is not None:
                _check_identity(stored.get("user_id"), stored.get("vendor_id"), claims)
                if entry is not None and entry.stamp == stored.get("stamp"):
                    return entry
                return self._cache.adopt(self._rehydrate(claims, stored))
            if entry is not None and entry.revision > 0:
                logger.info("session_id=<%s> | stored session is gone (reset elsewhere); starting fresh", sid)
                self._cache.delete(sid)
                entry = None
            if entry is not None or not create:
                return entry
            return self._cache.get_or_create(
                sid, user_id=claims.uid, vendor_id=claims.vid, agent_type=claims.typ
            )

    def check_stored_identity(self, claims: TokenClaims) -> None:
        """Refuse a token whose user or vendor is not the stored session's (when stored).

        Raises:
            RequestRefused: ``IDENTITY_MISMATCH``.
        """
        stored = self._stored_portal(claims.sid)
        if stored is not None:
            _check_identity(stored.get("user_id"), stored.get("vendor_id"), claims)

    def _stored_portal(self, session_id: str) -> dict[str, Any] | None:
        if not self.store.durable:
            return None
        state = self.store.read_agent_state(session_id, ORCHESTRATOR)
        portal = (state or {}).get(PORTAL_KEY)
        return dict(portal) if isinstance(portal, dict) else None

    def _rehydrate(self, claims: TokenClaims, stored: dict[str, Any]) -> SessionEntry:
        entry = self._cache.new_entry(
            claims.sid,
            user_id=int(stored.get("user_id", claims.uid)),
            vendor_id=int(stored.get("vendor_id", claims.vid)),
            agent_type=str(stored.get("agent_type") or claims.typ),
        )
        agent, _ = self.orchestrator(entry)  # the session manager restores messages + interrupt state
        restored = agent.state.get(PORTAL_KEY)
        apply_portal_state(entry, dict(restored) if isinstance(restored, dict) else stored)
        logger.info(
            "session_id=<%s>, revision=<%d>, messages=<%d>, pending_interrupts=<%d> | "
            "session loaded from the store",
            entry.session_id,
            entry.revision,
            len(agent.messages),
            len(entry.interrupts.pending),
        )
        return entry

    # ------------------------------------------------------------------ writing

    def persist(self, entry: SessionEntry) -> None:
        """Write the session's durable part (no-op without a store or an orchestrator).

        Blocking (store I/O): call it off the event loop where that matters.
        """
        cached = entry.agents.get(ORCHESTRATOR)
        manager = entry.store_manager
        if not self.store.durable or cached is None or manager is None:
            return
        agent: Agent = cached[0]
        with entry.persist_lock:
            state = portal_state(entry)
            state["revision"] = entry.revision + 1
            state["stamp"] = uuid.uuid4().hex
            agent.state.set(PORTAL_KEY, state)
            manager.sync_agent(agent)
            entry.revision, entry.stamp = state["revision"], state["stamp"]
        logger.debug("session_id=<%s>, revision=<%d> | session stored", entry.session_id, entry.revision)

    def persist_quietly(self, entry: SessionEntry) -> None:
        """:meth:`persist`, logging instead of raising (a store outage must not fail a turn)."""
        try:
            self.persist(entry)
        except Exception:
            logger.exception("session_id=<%s> | could not store the session", entry.session_id)

    def delete(self, session_id: str) -> None:
        """Delete the stored session (``reset``)."""
        if self.store.durable:
            self.store.delete(session_id)

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

    def stored_canvas(self, session_id: str) -> Canvas | None:
        """The stored canvas (for a ``stop`` answered by a runtime that does not hold the session)."""
        try:
            stored = self._stored_portal(session_id)
            return Canvas.from_dict(stored["canvas"]) if stored and stored.get("canvas") else None
        except Exception:
            logger.exception("session_id=<%s> | could not read the stored canvas", session_id)
            return None


def _check_identity(user_id: Any, vendor_id: Any, claims: TokenClaims) -> None:
    if user_id != claims.uid or vendor_id != claims.vid:
        raise RequestRefused("this session belongs to another user", ErrorCode.IDENTITY_MISMATCH)
