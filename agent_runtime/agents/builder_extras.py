"""What a module builder gets besides its canvas tools: MCP tools, usage metering, the self-check.

Kept apart from :class:`~agent_runtime.agents.builder.BuildManager` so the pool and its
bookkeeping stay in one place: the manager asks :meth:`BuilderExtras.meter` for a build's token
meter when a build starts, and :meth:`BuilderExtras.prepare` for one builder's
:class:`BuilderAddOns` before it creates the agent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from strands.types.tools import AgentTool

from agent_runtime.agents.registry import AgentSpec
from agent_runtime.agents.selfcheck import ModuleSelfCheck
from agent_runtime.canvas import CanvasError
from agent_runtime.contract import CustomEventName, ModuleSpec, ModuleStatus
from agent_runtime.events import factory
from agent_runtime.session.cache import SessionEntry
from agent_runtime.session.control import RunControl
from agent_runtime.toolservers import AnnouncedTool, McpPool
from agent_runtime.usage import PriceTable, RunMeter, UsageHook

__all__ = ["BuilderAddOns", "BuilderExtras"]


@dataclass
class BuilderAddOns:
    """One builder's extra tools, hooks and system-prompt note."""

    tools: list[AgentTool] = field(default_factory=list)
    hooks: list[Any] = field(default_factory=list)
    prompt_note: str = ""
    check: ModuleSelfCheck | None = None

    def verdict(self) -> tuple[ModuleStatus, str | None]:
        """``built`` (maybe with a repair note) or ``built_with_warnings`` — for a builder that finished."""
        return self.check.verdict() if self.check is not None else (ModuleStatus.BUILT, None)


@dataclass(frozen=True)
class BuilderExtras:
    """The collaborators builders share (all optional: a bare manager gets none)."""

    mcp: McpPool | None = None
    prices: PriceTable | None = None
    token_budget: int | None = None
    """Tokens one build may use (``BUILD_TOKEN_BUDGET``, default ``TURN_TOKEN_BUDGET``)."""
    session_token_budget: int | None = None

    def meter(self, entry: SessionEntry, control: RunControl) -> RunMeter:
        """A build's token meter (counts into the session's usage; cancels ``control`` past a budget)."""
        return RunMeter(
            entry.usage,
            "build",
            control,
            run_limit=self.token_budget,
            session_limit=self.session_token_budget,
        )

    def prepare(
        self,
        *,
        entry: SessionEntry,
        spec: AgentSpec,
        index: int,
        subagent_run_id: str,
        control: RunControl,
        meter: RunMeter | None,
        budget_seconds: float,
        from_document: bool = False,
    ) -> BuilderAddOns:
        """The add-ons of the builder of module ``index``. Blocking (may start MCP servers).

        ``from_document``: the module is drawn from an attached document (a lighter self-check).

        Raises:
            ToolServerUnavailable: A required MCP server of the builder could not start.
        """
        addons = BuilderAddOns()
        if self.mcp is not None and spec.mcp_servers:
            attached = self.mcp.attach(spec.mcp_servers, entry.vendor_id)

            def announce(tool_use_id: str, name: str, args: dict[str, Any]) -> None:
                with entry.canvas.lock:
                    entry.ephemeral.append(
                        factory.tool_call(tool_use_id, name, args, subagent_run_id=subagent_run_id)
                    )

            addons.tools = [AnnouncedTool(tool, announce, server) for server, tool in attached.tools]
            if attached.notes:
                addons.prompt_note = "\n".join(["", "## Tools unavailable now", *attached.notes])
        if self.prices is not None:
            addons.hooks.append(UsageHook(self.prices, meter))
        if spec.self_check is not None:

            def read_module() -> ModuleSpec | None:
                try:
                    return entry.canvas.module(index)
                except CanvasError:
                    return None

            def report(value: dict[str, Any]) -> None:
                with entry.canvas.lock:
                    entry.ephemeral.append([factory.custom(CustomEventName.MODULE_CHECK, value)])

            addons.check = ModuleSelfCheck(
                index=index,
                rules=spec.self_check.for_document() if from_document else spec.self_check,
                read_module=read_module,
                report=report,
                control=control,
                deadline=time.monotonic() + budget_seconds,
            )
            addons.hooks.append(addons.check)
        return addons
