"""Strands tools that edit the session canvas (orchestrator and module builders)."""

from agent_runtime.tools.canvas_tool import Applier, CanvasTool, make_tools
from agent_runtime.tools.schema import tool_spec

__all__ = ["Applier", "CanvasTool", "make_tools", "tool_spec"]
