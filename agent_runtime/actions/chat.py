"""The ``chat`` action: one turn — router (first message only) then the orchestrator.

The turn runs as an asyncio task on the AgentCore worker loop and writes frames into a
:class:`~agent_runtime.session.channel.FrameChannel`; the HTTP body (iterated on uvicorn's loop)
relays them. Every turn starts with ``RUN_STARTED`` and ends with ``STATE_SNAPSHOT`` and exactly
one terminal event:

* success — ``CUSTOM portal.done {phase, version}``, ``RUN_FINISHED``;
* stopped/reset — ``CUSTOM run.cancelled {reason}``, ``RUN_FINISHED`` (outcome cancelled);
* budget — ``RUN_ERROR BUDGET_EXCEEDED``; model failure — ``RUN_ERROR MODEL_ERROR``.

If the client goes away mid-turn the turn is cancelled (reason ``disconnect``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from agent_runtime.agents.orchestrator import build_system_prompt, get_orchestrator
from agent_runtime.agents.registry import ORCHESTRATOR, ROUTER
from agent_runtime.agents.router import GENERAL_REPLY, RouterCancelled, classify
from agent_runtime.budget import BUDGET_REASON, Budget, armed, is_exceeded
from agent_runtime.contract import ChatPayload, CustomEventName, ErrorCode
from agent_runtime.errors import AgentRuntimeError, ModelFault, RunFault
from agent_runtime.events import factory
from agent_runtime.events.emitter import RunEmitter
from agent_runtime.events.translate import forward_strands_event
from agent_runtime.services import Services, turn_budget
from agent_runtime.session.cache import SessionEntry
from agent_runtime.session.channel import FrameChannel
from agent_runtime.session.control import RunControl
from agent_runtime.telemetry import log_context

__all__ = ["ChatAction"]

logger = logging.getLogger(__name__)

_SUCCESS, _CANCELLED, _BUDGET = "success", "cancelled", "budget"


class ChatAction:
    """Runs chat turns."""

    def __init__(self, services: Services) -> None:
        """Bind to the runtime's services."""
        self._services = services
        self._tasks: set[asyncio.Task[None]] = set()

    def open(self, entry: SessionEntry, payload: ChatPayload) -> AsyncIterator[bytes]:
        """Claim the session, start the turn in the background and return its SSE body.

        Raises:
            RequestRefused: ``SESSION_BUSY`` when a turn is already running.
        """
        run_id = factory.new_id("run")
        control = entry.begin_turn(run_id)
        channel = FrameChannel(self._services.settings.heartbeat_seconds)
        emitter = RunEmitter(channel, entry.ephemeral.next_id, entry.session_id, run_id)
        emitter.start()
        task = asyncio.get_running_loop().create_task(
            self._run(entry, control, emitter, channel, payload.prompt)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return _relay(channel, control)

    async def _run(
        self,
        entry: SessionEntry,
        control: RunControl,
        emitter: RunEmitter,
        channel: FrameChannel,
        prompt: str,
    ) -> None:
        services = self._services
        budget = turn_budget(services.settings, services.registry.get(ORCHESTRATOR))
        outcome = _SUCCESS
        error: AgentRuntimeError | None = None
        with log_context(session_id=entry.session_id, run_id=control.run_id, agent_type="orchestrator"):
            logger.info("session_id=<%s>, run_id=<%s> | turn started", entry.session_id, control.run_id)
            try:
                with armed(budget, control):
                    async with asyncio.timeout(budget.hard_deadline):
                        outcome = await self._turn(entry, control, emitter, prompt, budget)
            except TimeoutError:
                control.cancel(BUDGET_REASON)
                outcome = _BUDGET
            except AgentRuntimeError as exc:
                error = exc
            except Exception:
                logger.exception(
                    "session_id=<%s>, run_id=<%s> | turn failed", entry.session_id, control.run_id
                )
                error = RunFault("the turn failed unexpectedly")
            finally:
                self._end(entry, control, emitter, channel, outcome, error)
            logger.info(
                "session_id=<%s>, run_id=<%s>, outcome=<%s> | turn finished",
                entry.session_id,
                control.run_id,
                error.code if error else outcome,
            )

    async def _turn(
        self, entry: SessionEntry, control: RunControl, emitter: RunEmitter, prompt: str, budget: Budget
    ) -> str:
        services = self._services
        handoff_context: str | None = None
        if entry.active_domain == "router":
            spec = services.registry.get(ROUTER)
            router_budget = Budget(budget.seconds, spec.limits.max_cycles)
            try:
                decision = await classify(
                    prompt,
                    entry=entry,
                    spec=spec,
                    model=services.models.create(spec.model_role),
                    control=control,
                    budget=router_budget,
                )
            except RouterCancelled:
                return _BUDGET if control.reason == BUDGET_REASON else _CANCELLED
            if decision.domain != "playbooks":
                emitter.emit_all(factory.text_message(decision.reply or GENERAL_REPLY))
                return _SUCCESS
            emitter.emit(
                factory.custom(
                    CustomEventName.HANDOFF,
                    {"target": "playbooks", "handoff_context": decision.handoff_context},
                )
            )
            entry.active_domain = "playbooks"
            handoff_context = decision.handoff_context or None

        spec = services.registry.get(ORCHESTRATOR)
        agent, applier = get_orchestrator(
            entry, spec=spec, model_factory=services.models, builds=services.builds
        )
        agent.system_prompt = build_system_prompt(
            entry.canvas, handoff_context, instructions=spec.prompt_text
        )
        applier.emitter = emitter
        saved_messages = list(agent.messages)
        stop_reason: str | None = None
        control.attach(agent)
        try:
            async for event in agent.stream_async(
                prompt, limits=budget.limits(), cancel_signal=control.cancel_event
            ):
                forward_strands_event(event, emitter)
                result = event.get("result")
                if result is not None:
                    stop_reason = str(result.stop_reason)
        except Exception as exc:
            agent.messages[:] = saved_messages  # leave the conversation as it was before the turn
            if control.cancelled:
                return _BUDGET if control.reason == BUDGET_REASON else _CANCELLED
            logger.warning("session_id=<%s>, error=<%r> | orchestrator model failed", entry.session_id, exc)
            raise ModelFault(f"the model failed ({type(exc).__name__})") from exc
        finally:
            control.detach(agent)
            applier.emitter = None
            emitter.end_text()
        if is_exceeded(stop_reason, control):
            return _BUDGET
        if control.cancelled or stop_reason == "cancelled":
            return _CANCELLED
        return _SUCCESS

    def _end(
        self,
        entry: SessionEntry,
        control: RunControl,
        emitter: RunEmitter,
        channel: FrameChannel,
        outcome: str,
        error: AgentRuntimeError | None,
    ) -> None:
        try:
            if not emitter.terminated:
                emitter.end_text()
                snapshot = entry.canvas.snapshot()
                emitter.snapshot(snapshot)
                if error is not None:
                    emitter.error(error.code, error.message)
                elif outcome == _BUDGET:
                    emitter.error(
                        ErrorCode.BUDGET_EXCEEDED,
                        "this turn ran out of its time or step budget; "
                        "the canvas keeps every completed change",
                    )
                elif outcome == _CANCELLED:
                    emitter.cancelled(control.reason or "stop")
                else:
                    emitter.finish({"phase": snapshot["phase"], "version": snapshot["version"]})
        finally:
            # Free the session before the stream ends: a client that saw the end may go on at once.
            entry.end_turn(control)
            self._services.cache.touch(entry)
            channel.close()


async def _relay(channel: FrameChannel, control: RunControl) -> AsyncIterator[bytes]:
    """The HTTP body: relay the turn's frames; a client that leaves cancels the turn."""
    try:
        async for chunk in channel.frames():
            yield chunk
    finally:
        if not channel.closed:
            control.cancel("disconnect")
