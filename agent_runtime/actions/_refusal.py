"""The stream for a refused invocation: a single ``RUN_ERROR`` frame.

Refusals (bad token, malformed payload, unknown action, busy session, …) are answered with HTTP
200 and an SSE body holding one ``RUN_ERROR`` whose ``code`` says why — AG-UI allows a stream
that is only ``RUN_ERROR``, and AgentCore turns non-2xx container answers into opaque client
errors, which would lose the code. The web app validates first, so these are rare.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from agent_runtime.contract import ErrorCode, ToolErrorCode
from agent_runtime.events import factory
from agent_runtime.events.sse import frame

__all__ = ["refusal"]


async def refusal(code: ErrorCode | ToolErrorCode, message: str, event_id: int = 0) -> AsyncIterator[bytes]:
    """Yield the single ``RUN_ERROR`` frame of a refused invocation."""
    yield frame(event_id, factory.run_error(code, message))
