"""The store interface: a Strands session manager per session, plus a cheap stop flag.

What is stored, per session (one Strands session, one agent — the orchestrator):

* the conversation — the orchestrator's messages, appended by the Strands session manager;
* Strands' interrupt state (the paused tool call) — persisted by Strands with the agent;
* ``agent.state["portal"]`` — the runtime's durable part: canvas, version and phase, active
  domain, handoff context, pending interrupts with expiry, locked identity, a revision counter
  (see :mod:`agent_runtime.session.writer`);
* a **stop flag** — a tiny marker object next to the session (``stop.flag``) that a ``stop``
  landing on another runtime writes and a running turn polls (existence check only).

Implementations must work with several runtime processes sharing the store: a write is either a
whole-object replace (a PUT for S3) or, for the file store's journal, one appended line that a
reader ignores until it is complete (a writer that finds the journal changed by someone else
rewrites it whole, by atomic rename).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from strands.session.session_manager import SessionManager

__all__ = ["SessionStore", "NullStore", "STOP_FLAG", "commit", "store_io"]

_P = ParamSpec("_P")
_T = TypeVar("_T")

STOP_FLAG = "stop.flag"


class SessionStore(ABC):
    """Where sessions outlive a runtime process."""

    durable: bool = True
    """``False`` for :class:`NullStore` (nothing outlives the process)."""

    inline_io: bool = False
    """``True`` when a turn's writes (and creating a session's manager) are local and take well
    under a millisecond, so :func:`store_io` runs them on the event loop instead of paying a
    thread hop; network stores keep it ``False``."""

    @abstractmethod
    def manager(self, session_id: str) -> SessionManager | None:
        """A Strands session manager for the session (creates the session when new)."""

    @abstractmethod
    def read_agent_state(self, session_id: str, agent_id: str) -> dict[str, Any] | None:
        """The stored ``agent.state`` of one agent, or ``None`` (no such session or agent)."""

    @abstractmethod
    def delete(self, session_id: str) -> None:
        """Remove everything stored for the session (no error when absent)."""

    @abstractmethod
    def set_stop(self, session_id: str) -> bool:
        """Raise the session's stop flag; ``False`` when the session is not stored."""

    @abstractmethod
    def stop_requested(self, session_id: str) -> bool:
        """Whether the stop flag is raised (cheap: one existence check)."""

    @abstractmethod
    def clear_stop(self, session_id: str) -> None:
        """Lower the stop flag (no error when absent)."""

    def truncate_messages(self, session_id: str, agent_id: str, keep: int) -> int:
        """Delete the agent's stored messages from index ``keep`` on (a turn cut by a crash).

        Returns:
            How many messages were deleted (``0`` for a store that cannot delete messages).
        """
        return 0


def commit(manager: SessionManager, agent: Any) -> None:
    """Write the agent's session now: the journal's ``commit``, else Strands' ``sync_agent``.

    The journal ignores ``sync_agent`` (Strands calls it mid-turn); Strands' repository managers
    (S3, AgentCore Memory, the older file layout) write on ``sync_agent``.
    """
    own = getattr(manager, "commit", None)
    if callable(own):
        own(agent)
    else:
        manager.sync_agent(agent)


async def store_io(store: SessionStore, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Run blocking store work: inline for an :attr:`~SessionStore.inline_io` store, else in a thread."""
    if store.inline_io:
        return fn(*args, **kwargs)
    return await asyncio.to_thread(fn, *args, **kwargs)


class NullStore(SessionStore):
    """``SESSION_STORE=none``: sessions live only in the process's cache."""

    durable = False
    inline_io = True

    def manager(self, session_id: str) -> SessionManager | None:
        """No manager."""
        return None

    def read_agent_state(self, session_id: str, agent_id: str) -> dict[str, Any] | None:
        """Nothing stored."""
        return None

    def delete(self, session_id: str) -> None:
        """Nothing to delete."""

    def set_stop(self, session_id: str) -> bool:
        """No flag to raise."""
        return False

    def stop_requested(self, session_id: str) -> bool:
        """Never."""
        return False

    def clear_stop(self, session_id: str) -> None:
        """Nothing to clear."""
