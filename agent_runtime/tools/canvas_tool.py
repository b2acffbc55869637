"""Strands tools around the session canvas.

A :class:`CanvasTool` is a plain Strands ``AgentTool`` whose spec comes from the contract
(:data:`agent_runtime.contract.TOOL_ARGS`). Executing it hands the arguments to an
:class:`Applier` — the orchestrator's or a builder's — which validates and applies them through
``Canvas.apply`` and announces the applied call on the right stream. A
:class:`~agent_runtime.canvas.CanvasError` (or a refusal by the applier) goes back to the model
as an error tool result; the canvas is then untouched.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from strands.types.events import ToolResultEvent
from strands.types.tools import AgentTool, ToolGenerator, ToolSpec, ToolUse

from agent_runtime.canvas import CanvasError
from agent_runtime.tools.schema import tool_spec

__all__ = ["Applier", "CanvasTool", "make_tools"]

logger = logging.getLogger(__name__)


class Applier(Protocol):
    """Applies one validated tool call for an agent and reports it."""

    def apply(self, tool_use_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Apply the call; return a short JSON-able result for the model.

        Raises:
            CanvasError: The call was refused; nothing changed.
        """


class CanvasTool(AgentTool):
    """One canvas tool bound to an applier."""

    def __init__(self, name: str, applier: Applier) -> None:
        """Create the tool ``name`` (a contract tool name) applying through ``applier``."""
        super().__init__()
        self._name = str(name)
        self._spec = tool_spec(name)
        self._applier = applier

    @property
    def tool_name(self) -> str:
        """The tool's wire name."""
        return self._name

    @property
    def tool_spec(self) -> ToolSpec:
        """The spec the model sees."""
        return self._spec

    @property
    def tool_type(self) -> str:
        """A Python tool."""
        return "python"

    async def stream(
        self, tool_use: ToolUse, invocation_state: dict[str, Any], **kwargs: Any
    ) -> ToolGenerator:
        """Apply the call (quickly, under the canvas lock) and yield the result."""
        tool_use_id = str(tool_use["toolUseId"])
        args = tool_use.get("input")
        if isinstance(args, str):  # some providers hand over unparsed JSON
            try:
                args = json.loads(args or "{}")
            except ValueError:
                args = None
        try:
            if not isinstance(args, dict):
                raise CanvasError(CanvasError.INVALID_TOOL_ARGS, "tool arguments must be a JSON object")
            result = self._applier.apply(tool_use_id, self._name, args)
        except CanvasError as exc:
            logger.info("tool=<%s>, code=<%s> | tool call refused", self._name, exc.code)
            yield ToolResultEvent(
                {
                    "toolUseId": tool_use_id,
                    "status": "error",
                    "content": [{"text": f"{exc.code}: {exc.message}"}],
                }
            )
            return
        yield ToolResultEvent(
            {
                "toolUseId": tool_use_id,
                "status": "success",
                "content": [{"text": json.dumps(result, default=str)}],
            }
        )


def make_tools(names: list[str], applier: Applier) -> list[Any]:
    """The canvas tools ``names``, all bound to ``applier``."""
    return [CanvasTool(name, applier) for name in names]
