"""The runtime's exception hierarchy.

One base, :class:`AgentRuntimeError`, with a stable ``code`` that tests assert on. User mistakes
(bad configuration, a refused request) are kept apart from run-time faults (a model that
misbehaved, a budget that ran out), so callers can tell "you asked wrong" from "we failed".
"""

from __future__ import annotations

from agent_runtime.contract import ErrorCode, ToolErrorCode

__all__ = [
    "AgentRuntimeError",
    "ConfigError",
    "RequestRefused",
    "RunFault",
    "ModelFault",
    "ModelRequestsBlocked",
]


class AgentRuntimeError(Exception):
    """Base of every error the runtime raises on purpose.

    Attributes:
        code: A stable :class:`~agent_runtime.contract.ErrorCode` (a :class:`ToolErrorCode` for a
            refused tool call).
        message: A short, human-readable explanation with no secrets in it.
    """

    code: ErrorCode | ToolErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, code: ErrorCode | ToolErrorCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


# --- user mistakes -------------------------------------------------------------------------


class ConfigError(AgentRuntimeError):
    """A setting or the agents file is missing or malformed; start-up stops with one line."""

    code = ErrorCode.CONFIG_INVALID


class RequestRefused(AgentRuntimeError):
    """An invocation was refused before any work started (bad token, payload, busy session)."""

    code = ErrorCode.INVALID_PAYLOAD


# --- run-time faults -----------------------------------------------------------------------


class RunFault(AgentRuntimeError):
    """Something went wrong while a run was under way."""

    code = ErrorCode.INTERNAL


class ModelFault(RunFault):
    """The model failed or answered in a way the run cannot use."""

    code = ErrorCode.MODEL_ERROR


class ModelRequestsBlocked(ModelFault):
    """A real cloud model was called while ``ALLOW_MODEL_REQUESTS`` is off (tests)."""
