"""Module builds: the process-wide builder pool, each build's bookkeeping and its ending.

What one builder is — its agent, prompt, tool calls and run — is
:mod:`agent_runtime.agents.module_builder`.

The pool (:class:`~agent_runtime.agents._fair_pool.FairPool`) shares its ``BUILDER_WORKERS``
threads fairly between sessions: a free worker goes to the session with the fewest builders
running, so one session's small build does not wait behind another's large one.

``build_modules`` calls :meth:`BuildManager.start`, which registers an AgentCore async task (so
``/ping`` says ``HealthyBusy``), submits one builder per module to the pool and returns at once.
Each builder runs in its own thread with its own event loop, inside a detached OpenTelemetry
context (its own root trace). Its tools (``add_tasks``, ``add_task_step``) apply to the session
canvas and append the applied calls to the session's event log, where every ``watch`` stream
picks them up. Status moves pending → building → built (or built_with_warnings), or failed with
a reason; one failing builder does not stop the others. The last builder to finish sets phase
``refinement``, logs the refinement snapshot (with the session's ``usage``) and the "Done!"
message, and completes the async task.

A build ends after the chat turn that started it. Builders can all finish while that turn is
still writing its reply (a one-module build, a fast model); the build's ending then waits for the
turn to close. So the turn always closes with phase ``building``, and the page's watch, resumed
from the turn's closing snapshot, always carries the build's end: the refinement snapshot, the
"Done!" message and ``RUN_FINISHED`` (as ``DESIGN.md`` section 7 promises). Without the wait, a
build that beat its turn ended in frames older than the turn's closing snapshot; the turn closed
with ``refinement``, the page opened no watch and never showed the "Done!" message.

What a builder gets besides its canvas tools comes from
:class:`~agent_runtime.agents.builder_extras.BuilderExtras`: its MCP tools (calls logged as
``TOOL_CALL_*`` like the canvas tools), a usage hook counting into the build's token meter (a
build past ``BUILD_TOKEN_BUDGET``/``SESSION_TOKEN_BUDGET`` is cancelled with reason ``budget``:
running modules end failed, built ones stay, watchers get ``RUN_ERROR BUDGET_EXCEEDED``) and
the module self-check (:mod:`agent_runtime.agents.selfcheck`).

Every change to the canvas and the matching log entries happen under the canvas lock, so a
watcher that snapshots the canvas and the log head under the same lock sees a consistent cut.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from ag_ui.core import BaseEvent

from agent_runtime.agents._fair_pool import FairPool
from agent_runtime.agents.builder_extras import BuilderAddOns, BuilderExtras
from agent_runtime.agents.module_builder import (
    BuilderApplier,
    StopProbe,
    builder_agent,
    builder_prompt,
    finished_events,
    run_builder,
    started_events,
)
from agent_runtime.agents.registry import AgentSpec
from agent_runtime.budget import BUDGET_REASON, Budget, is_exceeded
from agent_runtime.canvas import CanvasError
from agent_runtime.canvas_edits import commit_step
from agent_runtime.contract import CustomEventName, ModuleStatus, Phase
from agent_runtime.documents import source_for_module
from agent_runtime.events import factory
from agent_runtime.session.cache import SessionEntry
from agent_runtime.session.control import RunControl
from agent_runtime.telemetry import detached_otel_context, log_context
from agent_runtime.toolservers import ToolServerUnavailable
from agent_runtime.usage import RunMeter, with_usage

__all__ = ["BuildJob", "BuildManager", "TaskTracker", "DONE_MESSAGE"]

logger = logging.getLogger(__name__)

DONE_MESSAGE = "Done! Take a look and let me know what to change."
STOPPED_REASON = "stopped before it finished"
BUDGET_STOPPED_REASON = "stopped: the token budget is used up"


class TaskTracker(Protocol):
    """AgentCore's async-task registry (``BedrockAgentCoreApp``)."""

    def add_async_task(self, name: str, metadata: dict[str, Any] | None = None) -> int:
        """Register background work; ``/ping`` reports ``HealthyBusy`` while any is registered."""

    def complete_async_task(self, task_id: int) -> bool:
        """Mark background work finished."""


class BuildJob:
    """One session's build of some modules."""

    def __init__(self, entry: SessionEntry, module_indices: list[int], run_id: str) -> None:
        """Create the job (nothing runs yet)."""
        self.entry = entry
        self.module_indices = list(module_indices)
        self.control = RunControl(run_id)
        self.total = len(module_indices)
        self.built = 0
        self.failed = 0
        self.running_subagents: dict[int, tuple[str, str]] = {}
        """module index → (subagent run id, module title), for modules being built now."""
        self.task_id: int | None = None
        self.turn: RunControl | None = None
        """The chat turn that started the build (None: started outside a turn); it ends after it."""
        self.meter: RunMeter | None = None
        """The build's token meter (see :class:`~agent_runtime.agents.builder_extras.BuilderExtras`)."""
        self._remaining = len(module_indices)
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        """Whether any builder of this job is still pending or working."""
        return not self.control.done.is_set()

    def progress(self) -> dict[str, int]:
        """``{built, failed, total}``."""
        return {"built": self.built, "failed": self.failed, "total": self.total}

    def _one_done(self) -> bool:
        with self._lock:
            self._remaining -= 1
            return self._remaining == 0


class BuildManager:
    """Owns the process-wide builder pool and runs builds."""

    def __init__(
        self,
        *,
        workers: int,
        spec: AgentSpec,
        model_factory: Any,
        tracker: TaskTracker,
        budget: Budget | None = None,
        on_finished: Callable[[SessionEntry], None] | None = None,
        on_module_finished: Callable[[SessionEntry], None] | None = None,
        stop_probe: StopProbe | None = None,
        extras: BuilderExtras | None = None,
        fair: bool = True,
    ) -> None:
        """Create the pool.

        Args:
            workers: Builders running at once (``BUILDER_WORKERS``).
            spec: The builder agent's spec (prompt, tools, limits).
            model_factory: Gives each builder a fresh ``builder`` model.
            tracker: AgentCore's async-task registry.
            budget: Per-builder budget (defaults to the spec's limits).
            on_finished: Called with the entry when a build finishes, before watchers are told
                (the cache touches it and the session is stored).
            on_module_finished: Called with the entry after each module finishes (the session
                is stored, so a crash keeps the modules already built).
            stop_probe: Gives each builder a check of the stored stop flag (a ``stop`` that
                reached another runtime), polled between model and tool calls.
            extras: MCP servers, usage metering and token budgets, the module self-check.
            fair: Share the workers between sessions (``False``: first come, first served;
                ``BUILDER_SCHEDULING=fifo``).
        """
        self._pool = FairPool(workers, fair=fair, thread_name_prefix="module-builder")
        self._spec = spec
        self._models = model_factory
        self._tracker = tracker
        self._budget = budget or Budget(spec.limits.budget_seconds, spec.limits.max_cycles)
        self._on_finished = on_finished
        self._on_module_finished = on_module_finished
        self._stop_probe = stop_probe
        self._extras = extras or BuilderExtras()
        self._active_lock = threading.Lock()
        self._active = 0
        self.max_active_seen = 0
        # The endings that waited for their turn: off the event loop that closed it (a store write).
        self._endings = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="build-ending")

    @property
    def active_builders(self) -> int:
        """Builders working right now (process-wide)."""
        with self._active_lock:
            return self._active

    def shutdown(self) -> None:
        """Stop accepting builds and wait for running ones (and the endings already due)."""
        self._pool.shutdown(wait=True, cancel_pending=True)
        self._endings.shutdown(wait=True)

    def start(self, entry: SessionEntry, module_indices: list[int]) -> BuildJob:
        """Start building ``module_indices`` of the session's canvas; returns at once."""
        job = BuildJob(entry, module_indices, factory.new_id("build"))
        job.meter = self._extras.meter(entry, job.control)
        with entry.lock:
            job.turn = entry.turn
        with entry.canvas.lock:
            entry.build = job
            entry.ephemeral.append([factory.custom(CustomEventName.BUILD_PROGRESS, job.progress())])
        job.task_id = self._tracker.add_async_task(
            "module_building", {"session_id": entry.session_id, "modules": job.total}
        )
        logger.info(
            "session_id=<%s>, build_id=<%s>, modules=<%d> | build started",
            entry.session_id,
            job.control.run_id,
            job.total,
        )
        for index in module_indices:
            self._pool.submit(entry.session_id, functools.partial(self._run_one, job, index))
        return job

    # ------------------------------------------------------------------ one module

    def _run_one(self, job: BuildJob, index: int) -> None:
        try:
            if job.control.cancelled:
                self._finish_module(job, index, None, ModuleStatus.FAILED, _stopped_reason(job))
                return
            with self._active_lock:
                self._active += 1
                self.max_active_seen = max(self.max_active_seen, self._active)
            try:
                with (
                    detached_otel_context(),
                    log_context(
                        session_id=job.entry.session_id, run_id=job.control.run_id, agent_type="builder"
                    ),
                ):
                    self._build(job, index)
            finally:
                with self._active_lock:
                    self._active -= 1
        except Exception:  # never lose the job's bookkeeping to one module
            logger.exception(
                "session_id=<%s>, module_index=<%d> | builder crashed", job.entry.session_id, index
            )
            self._finish_module(job, index, None, ModuleStatus.FAILED, "the builder crashed")
        finally:
            if job._one_done():
                self._finalize_after_turn(job)

    def _build(self, job: BuildJob, index: int) -> None:
        entry = job.entry
        canvas = entry.canvas
        subagent_run_id = factory.new_id("builder")
        with canvas.lock:
            try:
                module = canvas.module(index).model_dump(mode="json")
            except CanvasError:
                self._finish_module(job, index, None, ModuleStatus.FAILED, "the module no longer exists")
                return
            playbook = canvas.playbook
            canvas.set_module_status(index, ModuleStatus.BUILDING)
            job.running_subagents[index] = (subagent_run_id, module["title"])
            entry.ephemeral.append(started_events(index, subagent_run_id, module["title"]))
        applier = BuilderApplier(entry, job.control, index, subagent_run_id)
        source = source_for_module(entry.documents, module["title"])
        try:
            addons: BuilderAddOns = self._extras.prepare(
                entry=entry,
                spec=self._spec,
                index=index,
                subagent_run_id=subagent_run_id,
                control=job.control,
                meter=job.meter,
                budget_seconds=self._budget.seconds,
                from_document=source is not None,
            )
        except ToolServerUnavailable as exc:
            self._finish_module(job, index, subagent_run_id, ModuleStatus.FAILED, exc.message)
            return
        context: dict[str, Any] = {
            "playbook_title": playbook.title,
            "playbook_description": playbook.description,
            "module_index": index,
            "module": module,
        }
        agent = builder_agent(
            spec=self._spec,
            models=self._models,
            entry=entry,
            control=job.control,
            index=index,
            applier=applier,
            addons=addons,
            system_prompt=builder_prompt(
                self._spec.prompt_text, context, source=source, note=addons.prompt_note
            ),
            stop_probe=self._stop_probe,
        )
        prompt = f"Build module {index + 1} (module_index {index}): {module['title']}."
        job.control.attach(agent)
        error: str | None = None
        stop_reason: str | None = None
        try:
            stop_reason = asyncio.run(run_builder(agent, prompt, job.control, self._budget))
        except TimeoutError:
            error = "budget exceeded"
        except Exception as exc:
            logger.warning(
                "session_id=<%s>, module_index=<%d>, error=<%s> | builder failed",
                entry.session_id,
                index,
                exc,
            )
            error = f"the builder failed: {type(exc).__name__}"
        finally:
            job.control.detach(agent)
        if job.control.cancelled:
            self._finish_module(job, index, subagent_run_id, ModuleStatus.FAILED, _stopped_reason(job))
        elif error is None and is_exceeded(stop_reason, job.control):
            self._finish_module(job, index, subagent_run_id, ModuleStatus.FAILED, "budget exceeded")
        elif error is not None:
            self._finish_module(job, index, subagent_run_id, ModuleStatus.FAILED, error)
        else:
            with canvas.lock:
                tasks = canvas.module(index).tasks
            if tasks:
                status, note = addons.verdict()
                self._finish_module(job, index, subagent_run_id, status, note, tasks=len(tasks))
            else:
                self._finish_module(
                    job, index, subagent_run_id, ModuleStatus.FAILED, "the builder added no tasks"
                )

    def _finish_module(
        self,
        job: BuildJob,
        index: int,
        subagent_run_id: str | None,
        status: ModuleStatus,
        reason: str | None,
        *,
        tasks: int = 0,
    ) -> None:
        entry = job.entry
        canvas = entry.canvas
        with canvas.lock:
            with contextlib.suppress(CanvasError):  # a reset removed the module; keep the bookkeeping
                canvas.set_module_status(index, status, reason)
            job.running_subagents.pop(index, None)
            if status in (ModuleStatus.BUILT, ModuleStatus.BUILT_WITH_WARNINGS):
                job.built += 1
            else:
                job.failed += 1
            stopped = reason in (STOPPED_REASON, BUDGET_STOPPED_REASON)
            events = finished_events(index, subagent_run_id, status, reason, tasks=tasks, stopped=stopped)
            events.append(factory.custom(CustomEventName.BUILD_PROGRESS, job.progress()))
            entry.ephemeral.append(events)
        if self._on_module_finished is not None and not job.control.cancelled:
            self._on_module_finished(entry)
        logger.info(
            "session_id=<%s>, module_index=<%d>, status=<%s> | module finished",
            entry.session_id,
            index,
            status.value,
        )

    def _finalize_after_turn(self, job: BuildJob) -> None:
        """End the build now, or once the turn that started it has closed (see the module's text)."""
        turn = job.turn
        if turn is None or not turn.after_finish(functools.partial(self._finalize_soon, job)):
            self._finalize(job)

    def _finalize_soon(self, job: BuildJob) -> None:
        """The turn closed (on its event loop): end the build on the endings thread."""
        try:
            self._endings.submit(self._finalize, job)
        except RuntimeError:  # shutting down: end it here, so the session is still stored as built
            self._finalize(job)

    def _finalize(self, job: BuildJob) -> None:
        # Order matters: the refinement events, then the session is stored (so whatever a person
        # does once the build ends — on any runtime, or after a crash — starts from the finished
        # build, and the entry stays busy, never evicted, while it is written), then /ping back
        # to Healthy, then the end marker watchers stop at, then "done" (a watcher that sees the
        # job done finds the marker).
        entry = job.entry
        canvas = entry.canvas
        cancelled = job.control.cancelled
        breach = job.meter.breach if job.meter is not None and job.control.reason == BUDGET_REASON else None
        try:
            with canvas.lock:
                canvas.set_phase(Phase.REFINEMENT)
                commit_step(canvas, "build")  # the whole build (and the turn that started it): one undo step
                snapshot = with_usage(canvas.snapshot(), entry.usage)
                events: list[BaseEvent] = [factory.state_snapshot(snapshot)]
                if not cancelled:
                    events += factory.text_message(_done_text(job))
                entry.ephemeral.append(events)
        finally:
            try:
                if self._on_finished is not None:
                    self._on_finished(entry)
            finally:
                if job.task_id is not None:
                    self._tracker.complete_async_task(job.task_id)
                if breach is not None:
                    entry.ephemeral.append_end("budget", breach.message)
                else:
                    entry.ephemeral.append_end("cancelled" if cancelled else "success")
                job.control.finish()
        used = job.meter.used if job.meter is not None else None
        logger.info(
            "session_id=<%s>, build_id=<%s>, built=<%d>, failed=<%d>, cancelled=<%s>, total_tokens=<%d>, "
            "cost_usd=<%.6f> | build finished",
            entry.session_id,
            job.control.run_id,
            job.built,
            job.failed,
            cancelled,
            used.total_tokens if used is not None else 0,
            used.cost_usd if used is not None else 0.0,
        )


def _stopped_reason(job: BuildJob) -> str:
    return BUDGET_STOPPED_REASON if job.control.reason == BUDGET_REASON else STOPPED_REASON


def _done_text(job: BuildJob) -> str:
    if not job.failed:
        return DONE_MESSAGE
    plural = "module" if job.failed == 1 else "modules"
    return f"{DONE_MESSAGE} ({job.failed} {plural} could not be built — ask me to try again.)"
