"""One orchestrator invocation inside a turn, with Strands interrupts for approvals.

:func:`run_orchestrator` streams the session's orchestrator on a prompt — the person's message,
or ``interruptResponse`` blocks answering paused tool calls — and maps how it ended to a
:class:`~agent_runtime.actions._turn.TurnOutcome`. When the agent stops with
``stop_reason == "interrupt"`` the approval requests become the session's pending interrupts
(wire ids, expiry, the paused call, the person's request).

:func:`settle_pending` answers whatever is still pending before a new message is processed:
expired interrupts as ``expired``, the others as ``superseded``. The paused calls are not run
and the agent ends that mini-run without a model call (the approval hook ends the turn), so the
conversation stays valid for the new message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, cast

from strands import Agent

from agent_runtime.actions._turn import BUDGET, CANCELLED, INTERRUPT, SUCCESS, TurnContext, TurnOutcome
from agent_runtime.agents.orchestrator import build_system_prompt
from agent_runtime.agents.registry import ORCHESTRATOR
from agent_runtime.approvals.pending import APPROVAL_INTERRUPT, ClosedStatus, PendingInterrupt
from agent_runtime.budget import BUDGET_REASON, is_exceeded
from agent_runtime.documents import TurnDocument, bedrock_blocks, context_attachments, prompt_section
from agent_runtime.errors import ModelFault
from agent_runtime.events.translate import forward_strands_event
from agent_runtime.services import Services

__all__ = ["run_orchestrator", "settle_pending", "responses_for"]

logger = logging.getLogger(__name__)


def responses_for(pending: list[PendingInterrupt], answer: dict[str, Any]) -> list[dict[str, Any]]:
    """``interruptResponse`` content blocks giving every interrupt in ``pending`` the same answer."""
    return [{"interruptResponse": {"interruptId": p.strands_id, "response": dict(answer)}} for p in pending]


async def run_orchestrator(
    services: Services,
    ctx: TurnContext,
    prompt: str | list[dict[str, Any]],
    *,
    request: str,
    handoff_context: str | None = None,
    emit: bool = True,
    documents: list[TurnDocument] | None = None,
) -> TurnOutcome:
    """Stream the orchestrator on ``prompt``.

    Args:
        services: The runtime's services.
        ctx: The turn.
        prompt: The person's message, or ``interruptResponse`` blocks.
        request: The person's message this work serves (kept with any new interrupt).
        handoff_context: The router's summary (first orchestrator turn only).
        emit: Stream text and tool calls (``False`` for a silent settle).
        documents: The files attached to this turn (shown in the system prompt; with Bedrock also
            sent as ``document`` blocks with the message).

    Raises:
        ModelFault: The model failed (the conversation is left as it was before).
    """
    entry, control, emitter = ctx.entry, ctx.control, ctx.emitter
    spec = services.registry.get(ORCHESTRATOR)
    agent, applier = await asyncio.to_thread(services.keeper.orchestrator, entry)
    agent.system_prompt = build_system_prompt(
        entry.canvas,
        handoff_context,
        instructions=spec.prompt_text,
        documents=prompt_section(entry.documents, documents or []),
        attachments=context_attachments(documents or []),
    )
    if documents and isinstance(prompt, str) and services.settings.model_provider == "bedrock":
        blocks = bedrock_blocks(documents)
        if blocks:
            prompt = [{"text": prompt}, *blocks]
    applier.emitter = emitter if emit else None
    applier.stop_hook.bind(control.cancel_event, ctx.probe)
    saved_messages = list(agent.messages)
    stop_reason: str | None = None
    raised: list[Any] = []
    control.attach(agent)
    try:
        async for event in agent.stream_async(
            cast(Any, prompt), limits=ctx.budget.limits(), cancel_signal=control.cancel_event
        ):
            if emit:
                forward_strands_event(event, emitter)
            result = event.get("result")
            if result is not None:
                stop_reason = str(result.stop_reason)
                raised = list(result.interrupts or [])
    except Exception as exc:
        agent.messages[:] = saved_messages  # leave the conversation as it was before the turn
        if control.cancelled:
            return TurnOutcome(BUDGET if control.reason == BUDGET_REASON else CANCELLED)
        logger.warning("session_id=<%s>, error=<%r> | orchestrator model failed", entry.session_id, exc)
        raise ModelFault(f"the model failed ({type(exc).__name__})") from exc
    finally:
        control.detach(agent)
        applier.emitter = None
        applier.stop_hook.bind(None)
        if emit:
            emitter.end_text()
    if is_exceeded(stop_reason, control):
        return TurnOutcome(BUDGET)
    if control.cancelled or stop_reason == "cancelled":
        return TurnOutcome(CANCELLED)
    if stop_reason == "interrupt" and raised:
        pending = _record(services, entry, raised, request)
        if pending:
            return TurnOutcome(INTERRUPT, pending)
    return TurnOutcome(SUCCESS)


def _record(services: Services, entry: Any, raised: list[Any], request: str) -> list[PendingInterrupt]:
    """Make the raised approval interrupts the session's pending set (keeping known wire ids)."""
    book = entry.interrupts
    now = time.time()
    ttl = services.settings.interrupt_ttl_seconds
    pending: list[PendingInterrupt] = []
    for interrupt in raised:
        if interrupt.name != APPROVAL_INTERRUPT:
            logger.warning(
                "interrupt_name=<%s> | ignoring an interrupt this runtime did not raise", interrupt.name
            )
            continue
        known = book.by_strands_id(interrupt.id)
        if known is not None:
            pending.append(known)
            continue
        reason = interrupt.reason if isinstance(interrupt.reason, dict) else {}
        pending.append(
            PendingInterrupt.new(
                strands_id=interrupt.id,
                reason=reason,
                tool=str(reason.get("tool", "")),
                tool_call_id=reason.get("tool_call_id"),
                args=dict(reason.get("args") or {}),
                request=request,
                now=now,
                ttl_seconds=ttl,
            )
        )
    book.pending = pending
    for item in pending:
        logger.info(
            "session_id=<%s>, interrupt_id=<%s>, reason=<%s>, expires_at=<%s> | waiting for approval",
            entry.session_id,
            item.id,
            item.reason,
            item.expires_at_iso,
        )
    return pending


def _paused(agent: Agent) -> bool:
    # Strands keeps no public flag for "waiting for interrupt responses"; its session state does.
    return bool(agent._interrupt_state.activated)


async def settle_pending(services: Services, ctx: TurnContext) -> None:
    """Close what is still pending before a new message (expired, else superseded)."""
    entry = ctx.entry
    book = entry.interrupts
    if not book.pending:
        return
    agent, _ = await asyncio.to_thread(services.keeper.orchestrator, entry)
    now = time.time()
    expired = [p for p in book.pending if p.expired(now)]
    superseded = [p for p in book.pending if not p.expired(now)]
    for item in expired:
        book.close(item.id, ClosedStatus.EXPIRED)
    for item in superseded:
        book.close(item.id, ClosedStatus.SUPERSEDED)
    logger.info(
        "session_id=<%s>, expired=<%d>, superseded=<%d> | pending approvals closed by a new message",
        entry.session_id,
        len(expired),
        len(superseded),
    )
    if not _paused(agent):
        return
    blocks = responses_for(expired, {"decision": "expired"}) + responses_for(
        superseded, {"decision": "superseded"}
    )
    try:
        await run_orchestrator(services, ctx, blocks, request="", emit=False)
    except Exception:
        logger.exception("session_id=<%s> | could not settle the paused call; dropping it", entry.session_id)
    if _paused(agent):  # something else paused meanwhile: the new message wins
        agent._interrupt_state.deactivate()
        book.close_all(ClosedStatus.SUPERSEDED)
