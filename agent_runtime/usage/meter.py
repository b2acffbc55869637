"""Token usage summed per run (a chat turn or a build) and per session, with the token budgets.

Every model response adds its usage (:class:`Usage`) to the run's :class:`RunMeter`, which adds it
to the session's :class:`UsageLedger` and checks the budgets: the run's own (``TURN_TOKEN_BUDGET``
for a turn, ``BUILD_TOKEN_BUDGET`` — default the turn's — for a build) and the session's
(``SESSION_TOKEN_BUDGET``). The first budget passed is recorded as a :class:`Breach` and the run
is cancelled with reason ``budget``, so it stops at its next cancellation point with the canvas
intact and ends with ``RUN_ERROR BUDGET_EXCEEDED`` saying which budget, used vs allowed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from agent_runtime.budget import BUDGET_REASON, Cancellable

__all__ = ["Breach", "RunMeter", "Usage", "UsageLedger", "with_usage"]


@dataclass
class Usage:
    """Tokens and dollars (``total_tokens`` counts input + output + cache reads and writes)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def total_tokens(self) -> int:
        """Every token the model read or wrote."""
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens

    @classmethod
    def from_metadata(cls, usage: dict[str, Any] | None) -> Usage:
        """From a Strands/Bedrock ``usage`` block (``inputTokens``, ``outputTokens``, cache fields)."""
        usage = usage or {}
        return cls(
            input_tokens=int(usage.get("inputTokens") or 0),
            output_tokens=int(usage.get("outputTokens") or 0),
            cache_read_tokens=int(usage.get("cacheReadInputTokens") or 0),
            cache_write_tokens=int(usage.get("cacheWriteInputTokens") or 0),
        )

    def add(self, other: Usage) -> None:
        """Add ``other`` in place."""
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.cost_usd += other.cost_usd

    def summary(self) -> dict[str, Any]:
        """The wire form (:class:`agent_runtime.contract.UsageSummary`)."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "cost_usd": round(self.cost_usd, 6),
        }

    def to_dict(self) -> dict[str, Any]:
        """The durable form."""
        return {
            **self.summary(),
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Usage:
        """Read :meth:`to_dict` back (missing fields are 0)."""
        data = data or {}
        return cls(
            input_tokens=int(data.get("input_tokens", 0)),
            output_tokens=int(data.get("output_tokens", 0)),
            cache_read_tokens=int(data.get("cache_read_tokens", 0)),
            cache_write_tokens=int(data.get("cache_write_tokens", 0)),
            cost_usd=float(data.get("cost_usd", 0.0)),
        )


class UsageLedger:
    """One session's usage so far (thread-safe: builders add from their own threads)."""

    def __init__(self, usage: Usage | None = None) -> None:
        """Start from ``usage`` (a rehydrated session) or zero."""
        self._usage = usage or Usage()
        self._lock = threading.Lock()

    def add(self, usage: Usage) -> Usage:
        """Add and return a copy of the new total."""
        with self._lock:
            self._usage.add(usage)
            return Usage(**vars(self._usage))

    @property
    def total(self) -> Usage:
        """A copy of the total."""
        with self._lock:
            return Usage(**vars(self._usage))

    def summary(self) -> dict[str, Any]:
        """The wire form of the total."""
        return self.total.summary()


@dataclass(frozen=True)
class Breach:
    """A budget that was passed."""

    budget: str
    """``turn``, ``build`` or ``session``."""
    used: int
    allowed: int

    @property
    def message(self) -> str:
        """What happened, for ``RUN_ERROR``."""
        return (
            f"the {self.budget} token budget is used up ({self.used:,} of {self.allowed:,} tokens); "
            "the canvas keeps every completed change"
        )


@dataclass
class RunMeter:
    """The usage of one run against its budgets."""

    ledger: UsageLedger
    kind: str
    """``turn`` or ``build``."""
    control: Cancellable
    run_limit: int | None = None
    session_limit: int | None = None
    used: Usage = field(default_factory=Usage)
    breach: Breach | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def session_exhausted(self) -> Breach | None:
        """The session breach when the session's budget is already used up (before any call)."""
        total = self.ledger.total.total_tokens
        if self.session_limit is not None and total >= self.session_limit:
            with self._lock:
                self.breach = self.breach or Breach("session", total, self.session_limit)
            return self.breach
        return None

    def add(self, usage: Usage) -> Breach | None:
        """Count one model response; cancel the run when it passes a budget."""
        session_total = self.ledger.add(usage).total_tokens
        with self._lock:
            self.used.add(usage)
            run_total = self.used.total_tokens
            if self.breach is None:
                if self.run_limit is not None and run_total > self.run_limit:
                    self.breach = Breach(self.kind, run_total, self.run_limit)
                elif self.session_limit is not None and session_total > self.session_limit:
                    self.breach = Breach("session", session_total, self.session_limit)
            breach = self.breach
        if breach is not None:
            self.control.cancel(BUDGET_REASON)
        return breach


def with_usage(snapshot: dict[str, Any], ledger: UsageLedger | None) -> dict[str, Any]:
    """A ``STATE_SNAPSHOT`` body with the session's ``usage`` (zero for a session this process lacks)."""
    return {**snapshot, "usage": (ledger.summary() if ledger is not None else Usage().summary())}
