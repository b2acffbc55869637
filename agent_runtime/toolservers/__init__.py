"""MCP tool servers attached to agents by configuration (``mcp_servers`` in ``agents.yaml``).

:mod:`.config` is the schema, :mod:`.pool` starts servers just in time with Strands' MCP client
and keeps them for later sessions, :mod:`.tool` streams their calls as ``TOOL_CALL_*`` events.
"""

from agent_runtime.toolservers.config import McpServerSpec
from agent_runtime.toolservers.pool import Attached, McpPool, ToolServerUnavailable
from agent_runtime.toolservers.tool import Announce, AnnouncedTool, install_tools

__all__ = [
    "Announce",
    "AnnouncedTool",
    "Attached",
    "McpPool",
    "McpServerSpec",
    "ToolServerUnavailable",
    "install_tools",
]
