"""One module's builder: its Strands agent, its prompt, its tool calls, and running it.

:class:`~agent_runtime.agents.builder.BuildManager` schedules builders and keeps a build's
bookkeeping; this module is what one builder is. Its system prompt carries the builder's
instructions, the module's section of an attached document (when one matches its title), any
note from the builder's extras, and the playbook context as the final JSON block. Its canvas
tools apply through :class:`BuilderApplier` to its own module only, logging each applied call
(``TOOL_CALL_*`` with the builder's ``subagent_run_id``) for the session's watchers. It runs on
its own event loop in the pool's thread, with the wall-clock budget and the build's stop flag.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from ag_ui.core import BaseEvent
from strands import Agent
from strands.tools.executors import SequentialToolExecutor

from agent_runtime.agents._common import STOPPED_MESSAGE, StopCheckHook, agent_kwargs, with_context_limit
from agent_runtime.agents.builder_extras import BuilderAddOns
from agent_runtime.agents.registry import AgentSpec
from agent_runtime.budget import Budget
from agent_runtime.canvas import CanvasError
from agent_runtime.contract import CustomEventName, ModuleStatus, ToolErrorCode
from agent_runtime.events import factory
from agent_runtime.messages import render_context
from agent_runtime.session.cache import SessionEntry
from agent_runtime.session.control import RunControl
from agent_runtime.tools import make_tools

__all__ = [
    "SUBAGENT_NAME",
    "BuilderApplier",
    "StopProbe",
    "builder_agent",
    "builder_prompt",
    "finished_events",
    "run_builder",
    "started_events",
]

SUBAGENT_NAME = "module_builder"

StopProbe = Callable[[str, RunControl], Callable[[], bool] | None]
"""``probe(session_id, control)``: a check of the stored stop flag (another runtime's ``stop``)."""


class BuilderApplier:
    """Applies one builder's tool calls to its own module and logs them for watchers."""

    def __init__(self, entry: SessionEntry, control: RunControl, index: int, subagent_run_id: str) -> None:
        """Bind to module ``index`` of the session, for one build run."""
        self.entry = entry
        self.control = control
        self.index = index
        self.subagent_run_id = subagent_run_id

    def apply(self, tool_use_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Validate, apply and log one call.

        Raises:
            CanvasError: Another module's index, a stopped build, or a call the canvas refused.
        """
        if args.get("module_index") != self.index:
            raise CanvasError(
                CanvasError.INVALID_TOOL_ARGS, f"you build module_index {self.index}; use that index"
            )
        if self.control.cancelled:
            raise CanvasError(ToolErrorCode.STOPPED, STOPPED_MESSAGE)
        entry = self.entry
        with entry.canvas.lock:
            result, wire = entry.canvas.apply_call(name, args)
            entry.ephemeral.append(
                factory.tool_call(tool_use_id, name, wire, subagent_run_id=self.subagent_run_id)
            )
        return result


def builder_prompt(
    instructions: str,
    context: dict[str, Any],
    *,
    source: dict[str, Any] | None = None,
    note: str | None = None,
) -> str:
    """The builder's system prompt.

    Args:
        instructions: The builder's prompt file.
        context: The playbook title/description, the module index and the module (as JSON).
        source: The module's section of an attached document (``document``, ``markdown``).
        note: What the builder's extras add (unavailable tools, the self-check's rules).
    """
    sections = [instructions]
    if source is not None:
        context = {**context, "source": source}
        sections += [
            "",
            f"## This module in the attached document “{source['document']}”",
            "Draw the tasks and steps from it (its list items are tasks, their sub-items steps).",
            "",
            source["markdown"],
        ]
    if note:  # before the context block, which must end the prompt
        sections.append(note)
    return "\n".join([*sections, "", render_context(context)])


def builder_agent(
    *,
    spec: AgentSpec,
    models: Any,
    entry: SessionEntry,
    control: RunControl,
    index: int,
    applier: BuilderApplier,
    addons: BuilderAddOns,
    system_prompt: str,
    stop_probe: StopProbe | None,
) -> Agent:
    """The Strands agent that builds module ``index`` (canvas tools, extras, stop check)."""
    return Agent(
        model=with_context_limit(models.create(spec.model_role), spec),
        tools=[*make_tools(list(spec.tools), applier), *addons.tools],
        system_prompt=system_prompt,
        tool_executor=SequentialToolExecutor(),
        **agent_kwargs(
            name=f"{spec.name}_{index}",
            agent_type="builder",
            session_id=entry.session_id,
            user_id=entry.user_id,
            vendor_id=entry.vendor_id,
            run_id=control.run_id,
            extra={"module_index": index},
            spec=spec,
            hooks=[
                StopCheckHook(
                    control.cancel_event,
                    stop_probe(entry.session_id, control) if stop_probe else None,
                ),
                *addons.hooks,
            ],
        ),
    )


async def run_builder(agent: Agent, prompt: str, control: RunControl, budget: Budget) -> str:
    """Invoke the builder within its budget; its stop reason.

    At ``budget.seconds`` the agent is cancelled (it stops at its next safe point); at the hard
    deadline the call itself is cancelled.

    Raises:
        TimeoutError: The budget ran out (not a stop: a stopped build is no timeout).
    """
    fired = threading.Event()

    def on_budget() -> None:
        fired.set()
        agent.cancel()

    handle = asyncio.get_running_loop().call_later(budget.seconds, on_budget)
    try:
        async with asyncio.timeout(budget.hard_deadline):
            result = await agent.invoke_async(
                prompt, limits=budget.limits(), cancel_signal=control.cancel_event
            )
    finally:
        handle.cancel()
    if fired.is_set() and not control.cancelled:
        raise TimeoutError()
    return str(result.stop_reason)


def started_events(index: int, subagent_run_id: str, title: str) -> list[BaseEvent]:
    """``SUBAGENT_STARTED`` and the module's ``building`` status, as a builder starts."""
    return [
        factory.subagent_started(subagent_run_id, SUBAGENT_NAME, title, {"module_index": index}),
        factory.custom(
            CustomEventName.MODULE_STATUS, {"module_index": index, "status": ModuleStatus.BUILDING}
        ),
    ]


def finished_events(
    index: int,
    subagent_run_id: str | None,
    status: ModuleStatus,
    reason: str | None,
    *,
    tasks: int,
    stopped: bool,
) -> list[BaseEvent]:
    """How a module ended: ``SUBAGENT_FINISHED``/``SUBAGENT_ERROR`` (if its builder started), then its status.

    Args:
        index: The module.
        subagent_run_id: Its builder's run id (``None``: no builder started for it).
        status: Built (with or without warnings) or failed.
        reason: Why it failed, or the self-check's note.
        tasks: The tasks it has (a built module).
        stopped: It failed because the build was stopped (code ``CANCELLED``, else ``BUILD_FAILED``).
    """
    meta = {"module_index": index}
    events: list[BaseEvent] = []
    if subagent_run_id is not None:
        if status in (ModuleStatus.BUILT, ModuleStatus.BUILT_WITH_WARNINGS):
            events.append(factory.subagent_finished(subagent_run_id, {"tasks": tasks}, meta))
        else:
            code = "CANCELLED" if stopped else "BUILD_FAILED"
            events.append(factory.subagent_error(subagent_run_id, reason or "failed", code, meta))
    value: dict[str, Any] = {"module_index": index, "status": status.value}
    if reason:
        value["reason"] = reason
    events.append(factory.custom(CustomEventName.MODULE_STATUS, value))
    return events
