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
from agent_runtime.agents.orchestrator import system_prompt_blocks
from agent_runtime.agents.registry import ORCHESTRATOR
from agent_runtime.approvals.pending import APPROVAL_INTERRUPT, ClosedStatus, PendingInterrupt
from agent_runtime.budget import BUDGET_REASON, LIMIT_STOP_REASONS, is_exceeded
from agent_runtime.contract import ErrorCode
from agent_runtime.documents import TurnDocument, bedrock_blocks, context_attachments, prompt_section
from agent_runtime.events import factory
from agent_runtime.events.translate import StreamTranslator
from agent_runtime.models.conversation import close_conversation, fill_blank_reply
from agent_runtime.models.factory import GuardedModel, prompt_cache_supported
from agent_runtime.models.failures import model_fault
from agent_runtime.selection import SelectionCheck
from agent_runtime.services import Services
from agent_runtime.session.store import store_io
from agent_runtime.strands_compat import clear_interrupts, is_paused_on_interrupt
from agent_runtime.toolservers import install_tools

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
    selection: SelectionCheck | None = None,
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
        selection: What the person selected on the canvas for this message (shown in the system
            prompt), or why the page's selection was ignored.

    Whatever way the invocation ends early — stopped, out of budget, cancelled at the hard
    deadline (``CancelledError``), the model failed — the conversation is closed validly for the
    next turn by appending (:func:`~agent_runtime.models.conversation.close_conversation`).

    Raises:
        ModelFault: The model failed; ``code`` says how (``MODEL_THROTTLED``,
            ``MODEL_ACCESS_DENIED``, ``CONTEXT_TOO_LONG``, ``MODEL_ERROR``).
    """
    entry, control, emitter = ctx.entry, ctx.control, ctx.emitter
    spec = services.registry.get(ORCHESTRATOR)
    agent, applier = await store_io(services.writer.store, services.keeper.orchestrator, entry)
    notes: list[str] = []
    if spec.mcp_servers:  # just in time; a required server that cannot start ends the turn
        attached = services.mcp.ready(spec.mcp_servers, entry.vendor_id)
        if attached is None:  # start (or restart) them off the event loop
            attached = await asyncio.to_thread(services.mcp.attach, spec.mcp_servers, entry.vendor_id)
        install_tools(agent, attached.tools, applier.announce)
        notes = attached.notes
    instructions = spec.prompt_text
    if notes:
        instructions += "\n\n## Tools unavailable now\n" + "\n".join(notes)
        if emit:
            emitter.emit_all(factory.text_message(" ".join(notes)))
    agent.system_prompt = cast(
        Any,
        system_prompt_blocks(
            entry.canvas,
            handoff_context,
            instructions=instructions,
            cache=spec.conversation.cache and prompt_cache_supported(agent.model),
            documents=prompt_section(entry.documents, documents or []),
            attachments=context_attachments(documents or []),
            selection=selection,
        ),
    )
    if documents and isinstance(prompt, str) and services.settings.model_provider == "bedrock":
        blocks = bedrock_blocks(documents)
        if blocks:
            prompt = [{"text": prompt}, *blocks]
    applier.emitter = emitter if emit else None
    applier.stop_hook.bind(control.cancel_event, ctx.probe)
    if applier.usage_hook is not None:
        applier.usage_hook.bind(ctx.meter)
    translate = StreamTranslator(emitter)
    retry = applier.retry
    if retry is not None and emit:
        retry.on_retry = translate
    stop_reason: str | None = None
    raised: list[Any] = []
    ended = "error"
    control.attach(agent)
    try:
        async for event in agent.stream_async(
            cast(Any, prompt), limits=ctx.budget.limits(), cancel_signal=control.cancel_event
        ):
            if emit:
                translate(event)
            result = event.get("result")
            if result is not None:
                stop_reason = str(result.stop_reason)
                raised = list(result.interrupts or [])
        ended = "ok"
    except asyncio.CancelledError:
        # The task was cancelled mid-call: at the hard deadline (the budget timer fired first) or
        # at shutdown. The conversation is closed below before the cancellation goes on.
        ended = "deadline" if control.reason == BUDGET_REASON else "cancelled"
        raise
    except Exception as exc:
        if control.cancelled:
            ended = control.reason or "stop"
            return TurnOutcome(BUDGET if control.reason == BUDGET_REASON else CANCELLED)
        fault = model_fault(exc)
        ended = "too_long" if fault.code == ErrorCode.CONTEXT_TOO_LONG else "error"
        logger.warning(
            "session_id=<%s>, code=<%s>, error=<%r> | orchestrator model failed",
            entry.session_id,
            fault.code,
            exc,
        )
        raise fault from exc
    finally:
        control.detach(agent)
        applier.emitter = None
        applier.stop_hook.bind(None)
        if applier.usage_hook is not None:
            applier.usage_hook.bind(None)
        if retry is not None:
            retry.on_retry = None
        if emit:
            emitter.end_text()
        # Whatever way the turn ended, the conversation stays valid for the next one (and stored so).
        _close(agent, _early_end(ended, stop_reason, control))
    if is_exceeded(stop_reason, control):
        return TurnOutcome(BUDGET)
    if control.cancelled or stop_reason == "cancelled":
        return TurnOutcome(CANCELLED)
    if stop_reason == "interrupt" and raised:
        pending = _record(services, entry, raised, request)
        if pending:
            return TurnOutcome(INTERRUPT, pending)
    return TurnOutcome(SUCCESS)


def _early_end(ended: str, stop_reason: str | None, control: Any) -> str | None:
    """Why the invocation ended early (a ``NOTES`` key), or ``None`` for a normal end or a pause."""
    if ended != "ok":
        return ended
    if stop_reason == "interrupt":
        return None  # paused for approval: the tool use is answered when the person decides
    if control.cancelled:
        return str(control.reason or "stop")
    if stop_reason in LIMIT_STOP_REASONS:
        return "budget"
    if stop_reason == "cancelled":
        return "stop"
    return None


def _close(agent: Agent, reason: str | None) -> None:
    """Keep the conversation valid: after an early end close it; else fill a blank final reply.

    Never raises.

    The offline and scripted models keep their empty final replies (nothing reads them back).
    """
    try:
        if reason is None:
            if isinstance(agent.model, GuardedModel):  # a cloud provider refuses an empty message later
                fill_blank_reply(agent)
        else:
            close_conversation(agent, reason, too_long=reason == "too_long")
    except Exception:
        logger.exception("reason=<%s> | could not close the conversation", reason)


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


async def settle_pending(services: Services, ctx: TurnContext) -> None:
    """Close what is still pending before a new message (expired, else superseded)."""
    entry = ctx.entry
    book = entry.interrupts
    if not book.pending:
        return
    agent, _ = await store_io(services.writer.store, services.keeper.orchestrator, entry)
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
    if not is_paused_on_interrupt(agent):
        return
    blocks = responses_for(expired, {"decision": "expired"}) + responses_for(
        superseded, {"decision": "superseded"}
    )
    try:
        await run_orchestrator(services, ctx, blocks, request="", emit=False)
    except Exception:
        logger.exception("session_id=<%s> | could not settle the paused call; dropping it", entry.session_id)
    if is_paused_on_interrupt(agent):  # something else paused meanwhile: the new message wins
        clear_interrupts(agent)
        book.close_all(ClosedStatus.SUPERSEDED)
