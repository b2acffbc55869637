"""The ``resume_interrupt`` action: a person's answer to a paused tool call (DESIGN §8).

``resume_interrupt {interrupt_id, decision, context?}`` continues the same paused call in a new
stream (``RUN_STARTED`` … terminal event, as a chat turn):

* ``approve`` — the call runs as proposed (e.g. the build starts, phase ``building``; the
  browser then watches);
* ``reject`` — the call is not run; the assistant says so;
* ``add_context`` — the call is not run as proposed; the agent continues with the person's
  instructions in its context (a smaller build, for instance — which may pause again if it is
  still gated);
* ``reroute`` — the call is not run and the request goes back to the router: the session's
  active domain becomes ``router`` and the person's original message is classified again in this
  stream (``CUSTOM control.handoff`` and the orchestrator's answer, or the router's reply).

Refusals, each a single ``RUN_ERROR``: ``INTERRUPT_UNKNOWN`` (no such interrupt in this
session), ``INTERRUPT_ANSWERED`` (already answered — a replay), ``INTERRUPT_EXPIRED`` (past its
``expires_at``, or closed because a newer message superseded it; an expired interrupt stays
unanswerable and the paused call never runs). A decision from another user or vendor is refused
by the dispatcher's identity lock (``IDENTITY_MISMATCH``), also for a session rehydrated from
the store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from agent_runtime.actions._orchestrate import responses_for, run_orchestrator
from agent_runtime.actions._turn import TurnContext, TurnOutcome, TurnRunner
from agent_runtime.actions.chat import ChatAction
from agent_runtime.approvals.pending import ClosedStatus
from agent_runtime.contract import Decision, ErrorCode, ResumeInterruptPayload
from agent_runtime.errors import RequestRefused
from agent_runtime.services import Services
from agent_runtime.session.cache import SessionEntry

__all__ = ["ResumeAction"]

logger = logging.getLogger(__name__)


class ResumeAction:
    """Answers pending interrupts."""

    def __init__(self, services: Services, runner: TurnRunner, chat: ChatAction) -> None:
        """Bind to the services, the turn runner and the chat action (for ``reroute``)."""
        self._services = services
        self._runner = runner
        self._chat = chat

    def open(self, entry: SessionEntry | None, payload: ResumeInterruptPayload) -> AsyncIterator[bytes]:
        """Check the answer, then stream the continuation.

        Raises:
            RequestRefused: ``INTERRUPT_UNKNOWN``/``INTERRUPT_ANSWERED``/``INTERRUPT_EXPIRED``, or
                ``SESSION_BUSY`` while a turn runs.
        """
        if entry is None:
            raise RequestRefused(
                f"no pending interrupt {payload.interrupt_id!r}", ErrorCode.INTERRUPT_UNKNOWN
            )
        entry.interrupts.check(payload.interrupt_id, time.time())

        async def body(ctx: TurnContext) -> TurnOutcome:
            return await self._continue(ctx, payload)

        return self._runner.open(entry, body, label=f"resume_interrupt:{payload.decision.value}")

    async def _continue(self, ctx: TurnContext, payload: ResumeInterruptPayload) -> TurnOutcome:
        entry = ctx.entry
        book = entry.interrupts
        pending = book.check(payload.interrupt_id, time.time())  # again, now that the turn holds the session
        answer: dict[str, Any] = {"decision": payload.decision.value, "context": payload.context}
        if payload.envelope:
            # The decision envelope (DESIGN §8): who decided, in which role — the agent sees it with
            # the decision, and the log keeps it with the run.
            answer["decided_by"] = {
                k: payload.envelope.get(k)
                for k in ("operator_id", "operator_role", "decided_at", "request_id")
            }
            logger.info(
                "session_id=<%s>, interrupt_id=<%s>, decision=<%s>, operator_id=<%s>, operator_role=<%s> | "
                "decision envelope",
                entry.session_id,
                payload.interrupt_id,
                payload.decision.value,
                payload.envelope.get("operator_id"),
                payload.envelope.get("operator_role"),
            )
        if payload.decision == Decision.REROUTE:
            settled = list(book.pending)
            for item in settled:
                book.close(item.id, ClosedStatus.ANSWERED)
            await run_orchestrator(
                self._services, ctx, responses_for(settled, answer), request="", emit=False
            )
            entry.active_domain = "router"
            entry.handoff_context = None
            return await self._chat.turn(ctx, pending.request)
        book.close(pending.id, ClosedStatus.ANSWERED)
        return await run_orchestrator(
            self._services, ctx, responses_for([pending], answer), request=pending.request
        )
