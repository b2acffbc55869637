"""The offline planner's output: what one model response says and which tools it calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ToolCall:
    """One tool call: a tool name on the wire and its (zero-based) arguments."""

    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """One model response: optional text (streamed first), then zero or more tool calls.

    A reply with no tool calls ends the turn.
    """

    text: str | None
    tool_calls: tuple[ToolCall, ...] = field(default=())


def call(name: str, **args: Any) -> ToolCall:
    """Shorthand for ``ToolCall(name, args)``."""
    return ToolCall(name, args)
