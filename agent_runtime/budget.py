"""Run budgets: a wall-clock limit and a cap on agent-loop cycles (model calls).

Both end the run gracefully through Strands: the cycle cap is Strands' own per-invocation
``limits={"turns": n}`` (stop reason ``limit_turns``); the wall clock is a timer that cancels the
run's :class:`~agent_runtime.session.control.RunControl` with reason ``budget``, so the agent stops
at its next cancellation point with the canvas intact. A hard deadline a little later covers a
provider that ignores cancellation. The turn runner (:mod:`agent_runtime.actions`) reports either
as ``RUN_ERROR`` ``BUDGET_EXCEEDED``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from strands.types.agent import Limits

__all__ = ["Budget", "BUDGET_REASON", "LIMIT_STOP_REASONS", "Cancellable", "armed", "is_exceeded"]

BUDGET_REASON = "budget"
LIMIT_STOP_REASONS = frozenset({"limit_turns", "limit_total_tokens", "limit_output_tokens"})
HARD_DEADLINE_GRACE_S = 5.0


class Cancellable(Protocol):
    """A run's control (:class:`~agent_runtime.session.control.RunControl`) as a budget sees it."""

    @property
    def reason(self) -> str | None:
        """Why the run was cancelled (``None`` while it was not)."""

    def cancel(self, reason: str) -> bool:
        """Cancel the run with ``reason``; ``False`` when it already was."""


@dataclass(frozen=True)
class Budget:
    """What one invocation may spend.

    Attributes:
        seconds: Wall-clock budget.
        max_cycles: Agent-loop cycles (one model call plus its tools each).
    """

    seconds: float
    max_cycles: int

    def limits(self) -> Limits:
        """Strands' per-invocation limits for this budget."""
        return {"turns": self.max_cycles}

    @property
    def hard_deadline(self) -> float:
        """Seconds after which the run is abandoned even if the model ignores cancellation."""
        return self.seconds + HARD_DEADLINE_GRACE_S


@contextlib.contextmanager
def armed(budget: Budget, control: Cancellable) -> Iterator[None]:
    """Cancel ``control`` with reason ``budget`` when the wall-clock budget runs out."""
    handle = asyncio.get_running_loop().call_later(budget.seconds, control.cancel, BUDGET_REASON)
    try:
        yield
    finally:
        handle.cancel()


def is_exceeded(stop_reason: str | None, control: Cancellable) -> bool:
    """Whether a run ended because of its budget."""
    return stop_reason in LIMIT_STOP_REASONS or control.reason == BUDGET_REASON
