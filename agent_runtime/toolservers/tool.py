"""An MCP tool whose calls are announced on the agent's stream as ordinary ``TOOL_CALL_*`` events.

The call runs first (through Strands' ``MCPAgentTool``); then the whole ``TOOL_CALL_START/ARGS/END``
group is announced at once, so a stream that resumes mid-call never sees an end without a start.
The browser's store ignores tool names it does not apply to the canvas.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from strands.types.events import ToolResultEvent
from strands.types.tools import AgentTool, ToolGenerator, ToolSpec, ToolUse

__all__ = ["Announce", "AnnouncedTool", "install_tools"]

logger = logging.getLogger(__name__)

Announce = Callable[[str, str, dict[str, Any]], None]
"""``announce(tool_use_id, tool_name, args)``: put the applied call on the right stream."""


class AnnouncedTool(AgentTool):
    """Delegates to an MCP tool and announces each call."""

    def __init__(self, inner: AgentTool, announce: Announce, server: str) -> None:
        """Wrap ``inner`` (from ``server``)."""
        super().__init__()
        self.inner = inner
        self.server = server
        self._announce = announce
        self._spec: ToolSpec | None = None

    @property
    def tool_name(self) -> str:
        """The name the model sees (the MCP tool's)."""
        return self.inner.tool_name

    @property
    def tool_spec(self) -> ToolSpec:
        """The MCP tool's spec, built once.

        Strands reads every tool's spec before each model call; a server's tools do not change
        while it runs, and a restarted server's tools get new wrappers (:func:`install_tools`).
        """
        if self._spec is None:
            self._spec = self.inner.tool_spec
        return self._spec

    @property
    def tool_type(self) -> str:
        """As the inner tool."""
        return self.inner.tool_type

    async def stream(
        self, tool_use: ToolUse, invocation_state: dict[str, Any], **kwargs: Any
    ) -> ToolGenerator:
        """Call the server; announce the call just before its result goes back to the model.

        (Strands stops reading a tool's stream at its result, so nothing may follow it.)
        """
        args = tool_use.get("input")
        async for event in self.inner.stream(tool_use, invocation_state, **kwargs):
            if isinstance(event, ToolResultEvent):
                try:
                    self._announce(
                        str(tool_use["toolUseId"]), self.tool_name, args if isinstance(args, dict) else {}
                    )
                except Exception:  # announcing must never fail the call
                    logger.exception("tool=<%s> | could not announce the tool call", self.tool_name)
            yield event


def install_tools(agent: Any, tools: list[tuple[str, AgentTool]], announce: Announce) -> int:
    """Give a long-lived agent these MCP tools (new ones registered, restarted ones replaced).

    Returns:
        How many tools were registered or replaced.
    """
    registry = agent.tool_registry
    changed = 0
    for server, tool in tools:
        current = registry.registry.get(tool.tool_name)
        if isinstance(current, AnnouncedTool) and current.inner is tool:
            continue
        wrapped = AnnouncedTool(tool, announce, server)
        if current is None:
            registry.register_tool(wrapped)
        else:
            registry.replace(wrapped)
        changed += 1
    return changed
