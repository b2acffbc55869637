"""The one exception of the package: a refused file, with a stable code and the file's name."""

from __future__ import annotations

from agent_runtime.contract import ErrorCode

DocumentErrorCode = ErrorCode
"""Refusals use the contract's codes (``UNSUPPORTED_FILE_TYPE``, ``FILE_EMPTY``, ``FILE_TOO_LARGE``,
``FILE_UNREADABLE``, ``INVALID_FILE_NAME``), so both sides and the page share one list."""


class DocumentError(ValueError):
    """A refused file. ``message`` names the file and says why in plain words."""

    def __init__(self, code: ErrorCode, name: str, reason: str) -> None:
        self.code = code
        self.name = name
        self.reason = reason
        self.message = f"“{name}”: {reason}" if name else reason
        super().__init__(self.message)
