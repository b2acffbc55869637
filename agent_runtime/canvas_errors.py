"""How the canvas refuses a change: :class:`CanvasError` and the validation that raises it.

Pure code: no strands, no I/O. :mod:`agent_runtime.canvas` re-exports :class:`CanvasError`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agent_runtime.contract import ToolErrorCode
from agent_runtime.errors import AgentRuntimeError

__all__ = ["CanvasError", "validate"]

_M = TypeVar("_M", bound=BaseModel)
_SIZE_ERRORS = frozenset({"string_too_long", "too_long"})


class CanvasError(AgentRuntimeError):
    """A tool call the canvas refused; the canvas is unchanged.

    Note the argument order, ``CanvasError(code, message)``, unlike the base class.

    Attributes:
        code: ``INVALID_TOOL_ARGS``, ``NOT_FOUND``, ``LIMIT`` or ``UNKNOWN_TOOL``.
        message: A short explanation meant for the model (it is sent back as the tool error).
    """

    INVALID_TOOL_ARGS = ToolErrorCode.INVALID_TOOL_ARGS
    NOT_FOUND = ToolErrorCode.NOT_FOUND
    LIMIT = ToolErrorCode.LIMIT
    UNKNOWN_TOOL = ToolErrorCode.UNKNOWN_TOOL

    def __init__(self, code: ToolErrorCode, message: str) -> None:
        super().__init__(message, code)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def validate(schema: type[_M], data: Any) -> _M:
    """Validate ``data``; size errors become ``LIMIT``, anything else ``INVALID_TOOL_ARGS``."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        code = (
            CanvasError.LIMIT
            if errors and all(e.get("type") in _SIZE_ERRORS for e in errors)
            else CanvasError.INVALID_TOOL_ARGS
        )
        parts = []
        for err in errors[:3]:
            loc = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{loc or 'args'}: {err.get('msg', 'invalid')}")
        raise CanvasError(code, "; ".join(parts)) from None
