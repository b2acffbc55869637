"""A session's approval requests: the pending set and the ids already closed.

An interrupt the person can answer is *pending*; once answered, superseded or expired it is
*closed* and its id is remembered (the last :data:`_CLOSED_KEPT`), so a replayed answer is told
``INTERRUPT_ANSWERED`` (or ``INTERRUPT_EXPIRED``) rather than ``INTERRUPT_UNKNOWN``.

Rules (DESIGN §8):

* one pending set per session; a set usually holds one interrupt (one gated tool call);
* an answer at or after ``expires_at`` is refused with ``INTERRUPT_EXPIRED`` — however often it
  is asked: the interrupt is dead and the paused call never runs; the next chat turn closes it
  (``expired``) and removes it from the conversation;
* a new chat turn while an interrupt is pending *supersedes* it: it is closed as ``superseded``
  (answering it later gets ``INTERRUPT_EXPIRED``), the paused call is not run, and the turn
  proceeds with the new message.

Times are wall-clock epoch seconds (they are persisted and compared across processes).
"""

from __future__ import annotations

import math
import uuid
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from agent_runtime.contract import ErrorCode
from agent_runtime.errors import RequestRefused

__all__ = ["APPROVAL_INTERRUPT", "ClosedStatus", "InterruptBook", "PendingInterrupt", "iso_utc"]

APPROVAL_INTERRUPT = "playbook_approval"
"""The Strands interrupt name the approval hook raises."""

_CLOSED_KEPT = 50


class ClosedStatus(StrEnum):
    """Why an interrupt is no longer pending."""

    ANSWERED = "answered"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


def iso_utc(epoch: float) -> str:
    """``2025-01-31T12:00:00Z`` for an epoch time."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class PendingInterrupt:
    """One approval request waiting for a person.

    Attributes:
        id: The id on the wire (``int_…``), answered by ``resume_interrupt``.
        strands_id: The Strands interrupt id (opaque; used to resume the agent).
        reason: The rule that matched (``build_modules:count>8``).
        message: The question for the person.
        summary: A few words naming the paused action.
        tool: The paused tool call's name.
        tool_call_id: The paused tool call's id.
        args: The paused call's arguments.
        request: The person's message that led to the call (``reroute`` re-classifies it).
        created_at: Epoch seconds.
        expires_at: Epoch seconds.
    """

    id: str
    strands_id: str
    reason: str
    message: str
    summary: str
    tool: str
    tool_call_id: str | None
    args: dict[str, Any]
    request: str
    created_at: float
    expires_at: float

    @classmethod
    def new(
        cls,
        *,
        strands_id: str,
        reason: dict[str, Any],
        tool: str,
        tool_call_id: str | None,
        args: dict[str, Any],
        request: str,
        now: float,
        ttl_seconds: float,
    ) -> PendingInterrupt:
        """A fresh interrupt with a new wire id, expiring ``ttl_seconds`` from ``now`` (rounded up)."""
        return cls(
            id=f"int_{uuid.uuid4().hex}",
            strands_id=strands_id,
            reason=str(reason.get("rule", "approval_required")),
            message=str(reason.get("message", "This action needs your approval.")),
            summary=str(reason.get("summary", tool)),
            tool=tool,
            tool_call_id=tool_call_id,
            args=dict(args),
            request=request,
            created_at=now,
            expires_at=float(math.ceil(now + ttl_seconds)),  # whole seconds: the ISO form is exact
        )

    @property
    def expires_at_iso(self) -> str:
        """``expires_at`` as ISO-8601 UTC."""
        return iso_utc(self.expires_at)

    def expired(self, now: float) -> bool:
        """Whether it can no longer be answered."""
        return now >= self.expires_at

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the session store."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PendingInterrupt:
        """Rebuild from :meth:`to_dict`."""
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


@dataclass
class InterruptBook:
    """The session's pending interrupts and recently closed ids."""

    pending: list[PendingInterrupt] = field(default_factory=list)
    closed: OrderedDict[str, str] = field(default_factory=OrderedDict)

    def find(self, interrupt_id: str) -> PendingInterrupt | None:
        """The pending interrupt with that id."""
        return next((p for p in self.pending if p.id == interrupt_id), None)

    def by_strands_id(self, strands_id: str) -> PendingInterrupt | None:
        """The pending interrupt for a Strands interrupt id."""
        return next((p for p in self.pending if p.strands_id == strands_id), None)

    def check(self, interrupt_id: str, now: float) -> PendingInterrupt:
        """The pending interrupt a ``resume_interrupt`` answers.

        An expired one is closed (dropped) before the refusal.

        Raises:
            RequestRefused: ``INTERRUPT_UNKNOWN``, ``INTERRUPT_ANSWERED`` or ``INTERRUPT_EXPIRED``.
        """
        found = self.find(interrupt_id)
        if found is None:
            status = self.closed.get(interrupt_id)
            if status == ClosedStatus.ANSWERED:
                raise RequestRefused(
                    f"interrupt {interrupt_id!r} was already answered", ErrorCode.INTERRUPT_ANSWERED
                )
            if status is not None:
                raise RequestRefused(
                    f"interrupt {interrupt_id!r} is no longer open ({status})", ErrorCode.INTERRUPT_EXPIRED
                )
            raise RequestRefused(f"no pending interrupt {interrupt_id!r}", ErrorCode.INTERRUPT_UNKNOWN)
        if found.expired(now):
            raise RequestRefused(
                f"interrupt {interrupt_id!r} expired at {found.expires_at_iso}", ErrorCode.INTERRUPT_EXPIRED
            )
        return found

    def close(self, interrupt_id: str, status: ClosedStatus) -> None:
        """Close one pending interrupt."""
        self.pending = [p for p in self.pending if p.id != interrupt_id]
        self.closed[interrupt_id] = status.value
        self.closed.move_to_end(interrupt_id)
        while len(self.closed) > _CLOSED_KEPT:
            self.closed.popitem(last=False)

    def close_all(self, status: ClosedStatus) -> list[PendingInterrupt]:
        """Close every pending interrupt; returns them."""
        closing = list(self.pending)
        for item in closing:
            self.close(item.id, status)
        return closing

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the session store."""
        return {"pending": [p.to_dict() for p in self.pending], "closed": dict(self.closed)}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> InterruptBook:
        """Rebuild from :meth:`to_dict` (an empty book for ``None``)."""
        if not data:
            return cls()
        return cls(
            pending=[PendingInterrupt.from_dict(p) for p in data.get("pending") or []],
            closed=OrderedDict((str(k), str(v)) for k, v in (data.get("closed") or {}).items()),
        )
