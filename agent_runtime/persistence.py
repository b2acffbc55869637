"""Opening sessions: the cached entry when fresh, else the session loaded from the store.

Writing sessions is :class:`~agent_runtime.session.writer.SessionWriter`'s (built first; the
builders use it too). This module reads them back:

* **Read** (:meth:`SessionKeeper.open`): on a cache miss, creating the orchestrator with the
  session manager restores the conversation and interrupt state, then the portal state is applied
  to a fresh entry. A cached entry is checked against the stored ``stamp`` before each turn, so a
  turn that ran on another runtime is never overwritten by a stale copy; an entry whose session
  was deleted elsewhere (``reset``) is dropped.
* **Identity**: the stored user and vendor are the session's locked identity, enforced after
  rehydration exactly like in the cache (``IDENTITY_MISMATCH``).
* **Ownership**: a stored copy whose stamp this entry wrote — the write in progress included — is
  never taken for another runtime's write (:meth:`SessionEntry.holds`).
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
from collections.abc import Sequence
from typing import Any

from strands import Agent

from agent_runtime.agents.orchestrator import BuildStarter, OrchestratorApplier, get_orchestrator
from agent_runtime.agents.registry import ORCHESTRATOR, AgentRegistry
from agent_runtime.approvals.pending import InterruptBook
from agent_runtime.approvals.rules import ApprovalRule
from agent_runtime.canvas import Canvas
from agent_runtime.contract import ModuleStatus, Phase, TokenClaims
from agent_runtime.session.cache import AgentSessionCache, SessionEntry
from agent_runtime.session.writer import PORTAL_KEY, SessionWriter, check_identity
from agent_runtime.usage import PriceTable, Usage, UsageLedger

__all__ = ["SessionKeeper", "apply_portal_state", "settle_cut_build"]

logger = logging.getLogger(__name__)

STOPPED_REASON = "stopped before it finished"
WAITING_REASON = 'the build was cut short by a restart; say "build it" to finish it'


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


def apply_portal_state(entry: SessionEntry, state: dict[str, Any]) -> None:
    """Restore an entry from :func:`portal_state` (plus ``revision``/``stamp``)."""
    entry.canvas = Canvas.from_dict(state.get("canvas") or {})
    entry.active_domain = str(state.get("active_domain") or "router")
    entry.handoff_context = state.get("handoff_context")
    entry.interrupts = InterruptBook.from_dict(state.get("interrupts"))
    entry.usage = UsageLedger(Usage.from_dict(state.get("usage")))
    entry.documents = list(state.get("documents") or [])
    entry.revision = int(state.get("revision", 0))
    entry.stamp = str(state.get("stamp", ""))


class SessionKeeper:
    """Opens sessions: the cache's entry when fresh, else the stored session, else a new one."""

    def __init__(
        self,
        *,
        writer: SessionWriter,
        cache: AgentSessionCache,
        registry: AgentRegistry,
        models: Any,
        builds: BuildStarter,
        rules: Sequence[ApprovalRule],
        build_recovery: str = "continue",
        prices: PriceTable | None = None,
    ) -> None:
        """Bind the collaborators (no I/O).

        ``build_recovery``: what to do with a build a crash cut short (``continue``/``wait``);
        ``prices`` meters the orchestrator's usage.
        """
        self._writer = writer
        self._cache = cache
        self._registry = registry
        self._models = models
        self._builds = builds
        self._rules = tuple(rules)
        self._recovery = build_recovery
        self._load_lock = threading.Lock()
        self._prices = prices

    # ------------------------------------------------------------------ agents

    def orchestrator(self, entry: SessionEntry) -> tuple[Agent, OrchestratorApplier]:
        """The session's orchestrator, created on first use with the session manager."""
        if self._writer.store.durable and entry.store_manager is None and ORCHESTRATOR not in entry.agents:
            entry.store_manager = self._writer.store.manager(entry.session_id)
        return get_orchestrator(
            entry,
            spec=self._registry.get(ORCHESTRATOR),
            model_factory=self._models,
            builds=self._builds,
            rules=self._rules,
            session_manager=entry.store_manager,
            prices=self._prices,
        )

    # ------------------------------------------------------------------ opening

    def open(self, claims: TokenClaims, *, create: bool, recovery: str | None = None) -> SessionEntry | None:
        """The session's entry: cached and fresh, else rehydrated, else (``create``) new.

        Blocking (store I/O): call it through :func:`~agent_runtime.session.store.store_io`.

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
                check_identity(entry.user_id, entry.vendor_id, claims)
                if not self._writer.store.durable or entry.busy:
                    return entry
            stored = self._writer.stored_portal(sid)
            if stored is not None:
                check_identity(stored.get("user_id"), stored.get("vendor_id"), claims)
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
        self._writer.persist_quietly(entry)
        return entry

    def _rehydrate(self, claims: TokenClaims, stored: dict[str, Any]) -> SessionEntry:
        recorded = stored.get("messages")
        if isinstance(recorded, int) and recorded >= 0:
            dropped = self._writer.store.truncate_messages(claims.sid, ORCHESTRATOR, recorded)
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
