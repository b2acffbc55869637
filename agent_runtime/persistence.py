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
* **Ownership**: a stored copy whose stamp this entry wrote — the write in progress included — is
  never taken for another runtime's write (:meth:`SessionEntry.holds`); an entry ``reset``
  dropped is never written again.
* **Crash recovery** (on rehydration): the portal state records how many conversation messages
  it goes with; messages beyond that belong to a turn cut short before its write and are
  deleted, so the conversation never claims a change the stored canvas lacks. A session stored
  mid-build (phase ``building``, no builder alive here) keeps its built modules; the unfinished
  ones go back to ``pending`` (their partial tasks dropped) and are built again
  (``BUILD_RECOVERY=continue``), or wait for "build it" (``wait``); a ``stop`` settles them as
  stopped.
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
from agent_runtime.contract import ErrorCode, ModuleStatus, Phase, TokenClaims
from agent_runtime.errors import RequestRefused
from agent_runtime.session.cache import AgentSessionCache, SessionEntry
from agent_runtime.session.control import RunControl
from agent_runtime.session.remote_stop import RemoteStop
from agent_runtime.session.store import SessionStore

__all__ = ["PORTAL_KEY", "SessionKeeper", "portal_state", "apply_portal_state", "settle_cut_build"]

logger = logging.getLogger(__name__)

PORTAL_KEY = "portal"
_FORMAT = 1
STOPPED_REASON = "stopped before it finished"
WAITING_REASON = 'the build was cut short by a restart; say "build it" to finish it'


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
        "documents": list(entry.documents),
        "building_modules": building,
    }


def settle_cut_build(entry: SessionEntry, building: list[int], mode: str) -> list[int]:
    """Settle a build no builder of this process runs (a crash cut it) on a rehydrated entry.

    Args:
        entry: The rehydrated entry (nothing runs on it).
        building: The modules the cut build was building (from the stored portal state).
        mode: ``continue`` (return the unfinished modules, phase stays ``building``, for the
            caller to build again), ``wait`` (they stay ``pending`` until "build it") or ``stop``
            (they are marked failed, stopped).

    Returns:
        The module indices to build again (``continue`` only).
    """
    canvas = entry.canvas
    with canvas.lock:
        if canvas.phase != Phase.BUILDING:
            return []
        modules = canvas.playbook.modules
        unfinished = sorted(
            {i for i in building if 0 <= i < len(modules)}
            | {i for i, m in enumerate(modules) if m.status == ModuleStatus.BUILDING}
        )
        unfinished = [
            i for i in unfinished if modules[i].status in (ModuleStatus.PENDING, ModuleStatus.BUILDING)
        ]
        if mode == "stop":
            for index in unfinished:
                canvas.set_module_status(index, ModuleStatus.FAILED, STOPPED_REASON)
        else:
            for index in unfinished:
                canvas.restart_module(index, WAITING_REASON if mode == "wait" else None)
        if mode != "continue" or not unfinished:
            canvas.set_phase(Phase.REFINEMENT)
            unfinished_to_build: list[int] = []
        else:
            unfinished_to_build = unfinished
    logger.warning(
        "session_id=<%s>, unfinished=<%s>, recovery=<%s> | a build cut short by a crash was found",
        entry.session_id,
        unfinished,
        mode,
    )
    return unfinished_to_build


def _stored_message_count(manager: Any, agent: Agent) -> int:
    """How many messages the session manager has stored for the agent (ids ``0…n-1``)."""
    latest = getattr(manager, "_latest_agent_message", {}).get(agent.agent_id)
    if latest is not None:
        return int(latest.message_id) + 1
    removed = int(getattr(agent.conversation_manager, "removed_message_count", 0) or 0)
    return removed + len(agent.messages)


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
        build_recovery: str = "continue",
    ) -> None:
        """Bind the collaborators (no I/O).

        ``build_recovery``: what to do with a build a crash cut short (``continue``/``wait``).
        """
        self.store = store
        self._cache = cache
        self._registry = registry
        self._models = models
        self._builds = builds
        self._rules = tuple(rules)
        self._poll = stop_poll_seconds
        self._recovery = build_recovery
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

    def open(self, claims: TokenClaims, *, create: bool, recovery: str | None = None) -> SessionEntry | None:
        """The session's entry: cached and fresh, else rehydrated, else (``create``) new.

        Blocking (store I/O): call it off the event loop.

        Args:
            claims: The verified token.
            create: Create the session when it is nowhere.
            recovery: For a rehydrated session with a build cut short: ``continue``, ``wait`` or
                ``stop`` (default: ``BUILD_RECOVERY``).

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
                if entry is not None and entry.holds(stored.get("stamp")):
                    return entry
                return self._recover(self._cache.adopt(self._rehydrate(claims, stored)), recovery)
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

    def _recover(self, entry: SessionEntry, recovery: str | None) -> SessionEntry:
        """Settle a build a crash cut short on a just-rehydrated entry (and store the result)."""
        building, entry.cut_build = entry.cut_build, None
        if building is None or entry.busy:
            return entry
        again = settle_cut_build(entry, building, recovery or self._recovery)
        if again:
            self._builds.start(entry, again)
            logger.info(
                "session_id=<%s>, modules=<%d> | build continued after a restart",
                entry.session_id,
                len(again),
            )
        self.persist_quietly(entry)
        return entry

    def _rehydrate(self, claims: TokenClaims, stored: dict[str, Any]) -> SessionEntry:
        recorded = stored.get("messages")
        if isinstance(recorded, int) and recorded >= 0:
            dropped = self.store.truncate_messages(claims.sid, ORCHESTRATOR, recorded)
            if dropped:
                logger.warning(
                    "session_id=<%s>, messages=<%d> | a turn cut short before it was stored was "
                    "dropped from the conversation",
                    claims.sid,
                    dropped,
                )
        entry = self._cache.new_entry(
            claims.sid,
            user_id=int(stored.get("user_id", claims.uid)),
            vendor_id=int(stored.get("vendor_id", claims.vid)),
            agent_type=str(stored.get("agent_type") or claims.typ),
        )
        agent, _ = self.orchestrator(entry)  # the session manager restores messages + interrupt state
        restored = agent.state.get(PORTAL_KEY)
        state = dict(restored) if isinstance(restored, dict) else stored
        apply_portal_state(entry, state)
        if entry.canvas.phase == Phase.BUILDING:  # stored mid-build, and no builder runs it here
            entry.cut_build = [i for i in state.get("building_modules") or [] if isinstance(i, int)]
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

    def persist(self, entry: SessionEntry, *, if_current: bool = False) -> None:
        """Write the session's durable part (no-op without a store or an orchestrator).

        Blocking (store I/O): call it off the event loop where that matters.

        Args:
            entry: The session.
            if_current: Write only if the stored copy is still this entry's own (background
                writes, e.g. a build finishing: another runtime may have taken a turn, or a
                ``reset`` there deleted the session, since this entry was last written).
        """
        cached = entry.agents.get(ORCHESTRATOR)
        manager = entry.store_manager
        if not self.store.durable or cached is None or manager is None:
            return
        agent: Agent = cached[0]
        with entry.persist_lock:
            if entry.dropped:
                logger.info("session_id=<%s> | session was reset; not stored again", entry.session_id)
                return
            if if_current and entry.revision > 0:
                stored = self._stored_portal(entry.session_id)
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
            agent.state.set(PORTAL_KEY, state)
            manager.sync_agent(agent)
            entry.revision, entry.stamp = state["revision"], state["stamp"]
        logger.debug("session_id=<%s>, revision=<%d> | session stored", entry.session_id, entry.revision)

    def persist_quietly(self, entry: SessionEntry, *, if_current: bool = False) -> None:
        """:meth:`persist`, logging instead of raising (a store outage must not fail a turn)."""
        try:
            self.persist(entry, if_current=if_current)
        except Exception:
            logger.exception("session_id=<%s> | could not store the session", entry.session_id)

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
