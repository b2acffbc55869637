"""Running one turn — a chat turn or a ``resume_interrupt`` — on the session, start to end.

The turn runs as an asyncio task on the AgentCore worker loop and writes frames into a
:class:`~agent_runtime.session.channel.FrameChannel`; the HTTP body (iterated on uvicorn's loop)
relays them. Every turn starts with ``RUN_STARTED`` and ends with ``STATE_SNAPSHOT`` and exactly
one terminal event:

* success — ``CUSTOM portal.done {phase, version}``, ``RUN_FINISHED``;
* paused for approval — ``CUSTOM portal.done``, ``RUN_FINISHED`` with the interrupt outcome
  (``{type: "interrupt", interrupts: [{id, reason, message, toolCallId, expiresAt,
  metadata: {interrupt_id, expires_at, …}}]}``);
* stopped/reset — ``CUSTOM run.cancelled {reason}``, ``RUN_FINISHED`` (outcome cancelled);
* budget — ``RUN_ERROR BUDGET_EXCEEDED``; model failure — ``RUN_ERROR MODEL_ERROR``; a
  refusal found once the turn holds the session (e.g. an interrupt answered meanwhile) — its code.

Around the body: the stored stop flag is cleared at the start and polled while the turn runs (a
``stop`` sent to another runtime), and the session is written to the store before the terminal
events, so a next request landing on another runtime sees this turn.

If the client goes away mid-turn the turn is cancelled (reason ``disconnect``); if the turn's task
itself is cancelled (shutdown), it still ends with ``run.cancelled`` (reason ``shutdown``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from agent_runtime.agents.registry import ORCHESTRATOR
from agent_runtime.approvals.pending import PendingInterrupt
from agent_runtime.budget import BUDGET_REASON, Budget, armed
from agent_runtime.canvas_edits import close_turn
from agent_runtime.contract import ErrorCode
from agent_runtime.errors import AgentRuntimeError, RunFault
from agent_runtime.events import factory
from agent_runtime.events.emitter import RunEmitter
from agent_runtime.services import Services, turn_budget
from agent_runtime.session.cache import SessionEntry
from agent_runtime.session.channel import FrameChannel
from agent_runtime.session.control import RunControl
from agent_runtime.session.remote_stop import RemoteStop, poll_remote_stop
from agent_runtime.session.store import store_io
from agent_runtime.telemetry import log_context
from agent_runtime.usage import RunMeter, with_usage

__all__ = ["SUCCESS", "CANCELLED", "BUDGET", "INTERRUPT", "TurnContext", "TurnOutcome", "TurnRunner"]

logger = logging.getLogger(__name__)

SUCCESS, CANCELLED, BUDGET, INTERRUPT = "success", "cancelled", "budget", "interrupt"
SHUTDOWN_REASON = "shutdown"
"""Cancel reason when the turn's task itself is cancelled (the runtime shutting down)."""


@dataclass
class TurnOutcome:
    """How a turn ended (``interrupts`` for :data:`INTERRUPT`)."""

    kind: str = SUCCESS
    interrupts: list[PendingInterrupt] = field(default_factory=list)


@dataclass
class TurnContext:
    """What a turn body works with."""

    entry: SessionEntry
    control: RunControl
    emitter: RunEmitter
    budget: Budget
    probe: RemoteStop | None
    meter: RunMeter | None = None
    """The turn's token meter (``TURN_TOKEN_BUDGET``, ``SESSION_TOKEN_BUDGET``)."""


TurnBody = Callable[[TurnContext], Awaitable[TurnOutcome]]


def interrupt_events(pending: list[PendingInterrupt]) -> list[object]:
    """The AG-UI ``Interrupt`` objects for pending approval requests."""
    return [
        factory.interrupt(
            item.id,
            reason=item.reason,
            message=item.message,
            expires_at=item.expires_at_iso,
            tool_call_id=item.tool_call_id,
            metadata={"tool": item.tool, "args": item.args, "summary": item.summary},
        )
        for item in pending
    ]


class TurnRunner:
    """Starts turns and ends them with exactly one terminal event."""

    def __init__(self, services: Services) -> None:
        """Bind to the runtime's services."""
        self._services = services
        self._tasks: set[asyncio.Task[None]] = set()

    def open(self, entry: SessionEntry, body: TurnBody, *, label: str) -> AsyncIterator[bytes]:
        """Claim the session, start ``body`` in the background and return the SSE body.

        Raises:
            RequestRefused: ``SESSION_BUSY`` when a turn is already running.
        """
        run_id = factory.new_id("run")
        control = entry.begin_turn(run_id)
        # Before RUN_STARTED: a stop sent to another runtime once this turn is visible must stick.
        self._services.writer.clear_stop(entry.session_id)
        channel = FrameChannel(self._services.settings.heartbeat_seconds)
        emitter = RunEmitter(channel, entry.ephemeral.next_id, entry.session_id, run_id)
        emitter.start()
        task = asyncio.get_running_loop().create_task(
            self._run(entry, control, emitter, channel, body, label)
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
        body: TurnBody,
        label: str,
    ) -> None:
        services = self._services
        writer = services.writer
        budget = turn_budget(services.settings, services.registry.get(ORCHESTRATOR))
        meter = RunMeter(
            entry.usage,
            "turn",
            control,
            run_limit=services.settings.turn_token_budget,
            session_limit=services.settings.session_token_budget,
        )
        outcome = TurnOutcome()
        error: AgentRuntimeError | None = None
        poller: asyncio.Task[None] | None = None
        sid, run_id = entry.session_id, control.run_id
        with log_context(session_id=sid, run_id=run_id, agent_type="orchestrator"):
            logger.info("session_id=<%s>, run_id=<%s>, action=<%s> | turn started", sid, run_id, label)
            try:
                probe = writer.probe(sid, control)
                if probe is not None:
                    poller = asyncio.get_running_loop().create_task(
                        poll_remote_stop(probe, control, writer.poll_seconds)
                    )
                if meter.session_exhausted() is not None:
                    control.cancel(BUDGET_REASON)
                    outcome = TurnOutcome(BUDGET)
                else:
                    with armed(budget, control):
                        async with asyncio.timeout(budget.hard_deadline):
                            outcome = await body(TurnContext(entry, control, emitter, budget, probe, meter))
            except TimeoutError:
                control.cancel(BUDGET_REASON)
                outcome = TurnOutcome(BUDGET)
            except asyncio.CancelledError:
                # The task itself was cancelled (shutdown): still end the stream as cancelled, with
                # the session stored and freed, then let the cancellation go on.
                control.cancel(SHUTDOWN_REASON)
                outcome = TurnOutcome(CANCELLED)
                raise
            except AgentRuntimeError as exc:
                error = exc
            except Exception:
                logger.exception("session_id=<%s>, run_id=<%s> | turn failed", sid, run_id)
                error = RunFault("the turn failed unexpectedly")
            finally:
                if poller is not None:
                    poller.cancel()
                build = entry.build
                close_turn(entry.canvas, label, building=build is not None and build.running)
                try:
                    await store_io(writer.store, writer.persist_quietly, entry)
                finally:
                    self._end(entry, control, emitter, channel, outcome, error, meter)
            session = entry.usage.total
            logger.info(
                "session_id=<%s>, run_id=<%s>, outcome=<%s>, total_tokens=<%d>, cost_usd=<%.6f>, "
                "session_total_tokens=<%d>, session_cost_usd=<%.6f> | turn finished",
                sid,
                run_id,
                error.code if error else outcome.kind,
                meter.used.total_tokens,
                meter.used.cost_usd,
                session.total_tokens,
                session.cost_usd,
            )

    def _end(
        self,
        entry: SessionEntry,
        control: RunControl,
        emitter: RunEmitter,
        channel: FrameChannel,
        outcome: TurnOutcome,
        error: AgentRuntimeError | None,
        meter: RunMeter | None = None,
    ) -> None:
        try:
            if not emitter.terminated:
                emitter.end_text()
                # Under the canvas lock, as builders log their events: every build event whose id
                # is below this frame's id is in the snapshot and none above it is, so a watch
                # resumed from this frame's id replays exactly what the snapshot lacks.
                with entry.canvas.lock:
                    snapshot = entry.canvas.snapshot()
                    emitter.snapshot(with_usage(snapshot, entry.usage))
                done = {"phase": snapshot["phase"], "version": snapshot["version"]}
                if error is not None:
                    emitter.error(error.code, error.message)
                elif outcome.kind == BUDGET:
                    breach = meter.breach if meter is not None else None
                    emitter.error(
                        ErrorCode.BUDGET_EXCEEDED,
                        breach.message
                        if breach is not None
                        else "this turn ran out of its time or step budget; "
                        "the canvas keeps every completed change",
                    )
                elif outcome.kind == CANCELLED:
                    emitter.cancelled(control.reason or "stop")
                elif outcome.kind == INTERRUPT and outcome.interrupts:
                    emitter.interrupted(done, interrupt_events(outcome.interrupts))
                else:
                    emitter.finish(done)
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
