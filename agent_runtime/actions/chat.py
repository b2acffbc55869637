"""The ``chat`` action: one turn — router (while the session is with the router), then the orchestrator.

The turn itself — claiming the session, the stream's start and its single terminal event, the
budget, the stored stop flag and writing the session back — is
:class:`~agent_runtime.actions._turn.TurnRunner`'s. This module decides what the turn does:

1. while ``active_domain == "router"`` the router classifies the message; a ``general`` answer
   ends the turn, ``playbooks`` emits ``CUSTOM control.handoff`` and continues;
2. approval requests still pending are closed (``superseded``, or ``expired`` when past their
   expiry): the new message wins and the paused call never runs;
3. the orchestrator answers; a gated tool call ends the turn with the interrupt outcome.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from agent_runtime.actions._orchestrate import run_orchestrator, settle_pending
from agent_runtime.actions._turn import BUDGET, CANCELLED, SUCCESS, TurnContext, TurnOutcome, TurnRunner
from agent_runtime.agents.registry import ROUTER
from agent_runtime.agents.router import GENERAL_REPLY, RouterCancelled, classify
from agent_runtime.budget import BUDGET_REASON, Budget
from agent_runtime.contract import AttachmentRef, ChatPayload, CustomEventName
from agent_runtime.documents import load_documents, remember
from agent_runtime.events import factory
from agent_runtime.selection import resolve_selection
from agent_runtime.services import Services
from agent_runtime.session.cache import SessionEntry
from agent_runtime.usage import UsageHook

__all__ = ["ChatAction"]

logger = logging.getLogger(__name__)


class ChatAction:
    """Runs chat turns."""

    def __init__(self, services: Services, runner: TurnRunner) -> None:
        """Bind to the runtime's services and the turn runner."""
        self._services = services
        self._runner = runner

    def open(self, entry: SessionEntry, payload: ChatPayload) -> AsyncIterator[bytes]:
        """Claim the session, start the turn in the background and return its SSE body.

        Raises:
            RequestRefused: ``SESSION_BUSY`` when a turn is already running.
        """
        prompt = payload.prompt
        files = list(payload.files or [])
        ui_context = payload.ui_context

        async def body(ctx: TurnContext) -> TurnOutcome:
            return await self.turn(ctx, prompt, files, ui_context=ui_context)

        return self._runner.open(entry, body, label="chat")

    async def turn(
        self,
        ctx: TurnContext,
        prompt: str,
        files: list[AttachmentRef] | None = None,
        *,
        ui_context: dict[str, Any] | None = None,
    ) -> TurnOutcome:
        """Router (if the session is with it), then the orchestrator, on ``prompt`` and its files.

        ``ui_context["selected"]`` (what the person selected on the canvas) is checked against the
        canvas and shown to the orchestrator (:func:`~agent_runtime.selection.resolve_selection`).
        """
        services = self._services
        entry, control, emitter = ctx.entry, ctx.control, ctx.emitter
        handoff_context: str | None = None
        documents = (
            await asyncio.to_thread(load_documents, files, entry.vendor_id, services.attachments)
            if files
            else []
        )
        if documents:
            entry.documents = remember(entry.documents, documents)
        if entry.active_domain == "router":
            spec = services.registry.get(ROUTER)
            names = ", ".join(d.ref.name for d in documents)
            try:
                decision = await classify(
                    f"{prompt}\n\n(Attached documents: {names})" if documents else prompt,
                    entry=entry,
                    spec=spec,
                    model=services.models.create(spec.model_role),
                    control=control,
                    budget=Budget(ctx.budget.seconds, spec.limits.max_cycles),
                    hooks=[UsageHook(services.prices, ctx.meter)],
                )
            except RouterCancelled:
                return TurnOutcome(BUDGET if control.reason == BUDGET_REASON else CANCELLED)
            if decision.domain != "playbooks":
                emitter.emit_all(factory.text_message(decision.reply or GENERAL_REPLY))
                return TurnOutcome(SUCCESS)
            emitter.emit(
                factory.custom(
                    CustomEventName.HANDOFF,
                    {"target": "playbooks", "handoff_context": decision.handoff_context},
                )
            )
            entry.active_domain = "playbooks"
            handoff_context = decision.handoff_context or None
        await settle_pending(services, ctx)
        if control.cancelled:
            return TurnOutcome(BUDGET if control.reason == BUDGET_REASON else CANCELLED)
        selection = resolve_selection(ui_context, entry.canvas.playbook)
        if selection.selection is not None or selection.note is not None:
            logger.info(
                "session_id=<%s>, selected=<%s>, ignored=<%s> | selection for this turn",
                entry.session_id,
                selection.selection.context() if selection.selection else None,
                selection.note is not None,
            )
        return await run_orchestrator(
            services,
            ctx,
            prompt,
            request=prompt,
            handoff_context=handoff_context,
            documents=documents,
            selection=selection,
        )
