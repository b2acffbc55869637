"""What a failed model call means for the person: a stable code and a plain message.

Strands raises its own exceptions for the two cases it recognises (``ModelThrottledException``,
``ContextWindowOverflowException``) and lets the provider's others through (botocore's
``ClientError`` and ``EventStreamError`` for Bedrock). :func:`model_fault` maps any of them to a
:class:`~agent_runtime.errors.ModelFault` whose ``code`` is one of ``MODEL_THROTTLED``,
``MODEL_ACCESS_DENIED``, ``CONTEXT_TOO_LONG`` or ``MODEL_ERROR`` (an answer cut off at
``max_tokens`` is a ``MODEL_ERROR`` saying so).
"""

from __future__ import annotations

from strands.types.exceptions import (
    ContextWindowOverflowException,
    MaxTokensReachedException,
    ModelThrottledException,
)

from agent_runtime.contract import ErrorCode
from agent_runtime.errors import ModelFault

__all__ = ["model_fault", "MESSAGES", "CUT_OFF_MESSAGE"]

MESSAGES = {
    ErrorCode.MODEL_THROTTLED: (
        "The model is busy right now (too many requests) and did not answer after several tries. "
        "Nothing was changed; please try again in a minute."
    ),
    ErrorCode.MODEL_ACCESS_DENIED: (
        "This deployment is not allowed to use its configured model (model access is not enabled "
        "for the account or region). Nothing was changed; ask an administrator."
    ),
    ErrorCode.CONTEXT_TOO_LONG: (
        "That message is too long for the model to read. Nothing was changed; "
        "please shorten it or split it into parts."
    ),
    ErrorCode.MODEL_ERROR: "The model failed to answer. Nothing was changed; please try again.",
}
CUT_OFF_MESSAGE = (
    "The model's answer was cut off at its length limit. Nothing was changed; "
    "try asking for a smaller change at a time."
)


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def model_fault(exc: BaseException) -> ModelFault:
    """The :class:`ModelFault` (with its code) for an exception a model call raised."""
    if isinstance(exc, ModelFault):
        return exc
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:  # look through chained causes
        seen.add(id(current))
        code = _error_code(current).lower()
        if isinstance(current, ModelThrottledException) or code in ("throttlingexception", "toomanyrequests"):
            return ModelFault(MESSAGES[ErrorCode.MODEL_THROTTLED], ErrorCode.MODEL_THROTTLED)
        if isinstance(current, MaxTokensReachedException):
            return ModelFault(CUT_OFF_MESSAGE, ErrorCode.MODEL_ERROR)
        if isinstance(current, ContextWindowOverflowException):
            return ModelFault(MESSAGES[ErrorCode.CONTEXT_TOO_LONG], ErrorCode.CONTEXT_TOO_LONG)
        if code == "accessdeniedexception":
            return ModelFault(MESSAGES[ErrorCode.MODEL_ACCESS_DENIED], ErrorCode.MODEL_ACCESS_DENIED)
        current = current.__cause__ or current.__context__
    return ModelFault(MESSAGES[ErrorCode.MODEL_ERROR], ErrorCode.MODEL_ERROR)
