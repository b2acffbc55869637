"""Cancellation handles for the two kinds of work a session runs: a chat turn and a build."""

from __future__ import annotations

import threading
from typing import Any, Protocol

__all__ = ["Cancellable", "RunControl"]


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
