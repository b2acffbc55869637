"""Cancellation handles for the two kinds of work a session runs: a chat turn and a build."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Cancellable", "RunControl"]

logger = logging.getLogger(__name__)


class Cancellable(Protocol):
    """Anything with Strands' ``Agent.cancel()``."""

    def cancel(self) -> None:
        """Stop at the next cancellation-safe point."""


class RunControl:
    """One run's stop flag, the agents it is running, and a "finished" signal.

    ``cancel`` records the first reason (``stop``, ``reset``, ``budget``, ``disconnect``), sets
    the flag that hooks and models poll between calls, and calls ``cancel()`` on every attached
    agent. Agents attached after a cancel are cancelled at once.
    """

    def __init__(self, run_id: str) -> None:
        """Create a live handle for ``run_id``."""
        self.run_id = run_id
        self.cancel_event = threading.Event()
        self.done = threading.Event()
        self.reason: str | None = None
        self._lock = threading.Lock()
        self._agents: list[Cancellable] = []
        self._after_finish: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self.cancel_event.is_set()

    def attach(self, agent: Cancellable) -> None:
        """Track a running agent (cancelled immediately if the run already is)."""
        with self._lock:
            self._agents.append(agent)
            cancelled = self.cancel_event.is_set()
        if cancelled:
            agent.cancel()

    def detach(self, agent: Any) -> None:
        """Stop tracking an agent that finished."""
        with self._lock:
            self._agents = [a for a in self._agents if a is not agent]

    def after_finish(self, call: Callable[[], None]) -> bool:
        """Have :meth:`finish` call ``call``; ``False`` (not kept) when the run already finished."""
        with self._lock:
            if self.done.is_set():
                return False
            self._after_finish.append(call)
            return True

    def finish(self) -> None:
        """Mark the run finished (``done``), then make the calls that waited for it, on this thread
        (they must be quick: a turn finishes on the event loop)."""
        with self._lock:
            self.done.set()
            waiting, self._after_finish = self._after_finish, []
        for call in waiting:
            try:
                call()
            except Exception:  # one waiter's failure must not keep the others or the caller from going on
                logger.exception("run_id=<%s> | a call waiting for the run's end failed", self.run_id)

    def cancel(self, reason: str) -> bool:
        """Cancel the run; returns ``True`` if this call was the first."""
        with self._lock:
            first = self.reason is None
            if first:
                self.reason = reason
            agents = list(self._agents)
            self.cancel_event.set()
        for agent in agents:
            agent.cancel()
        return first
