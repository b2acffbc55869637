"""Structured JSON logs that carry ``session_id``, ``run_id`` and the current trace id.

This module imports only the standard library (and ``opentelemetry-api`` lazily, if present), so
it is safe to use from any process. The ids live in :mod:`contextvars`, so concurrent requests on
one event loop or in threads (given ``contextvars.copy_context()``) do not mix them up.

Example::

    configure_logging()
    with log_context(session_id=sid, run_id=run_id):
        logger.info("session_id=<%s> | turn started", sid)   # JSON line with session_id, run_id
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

_session_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("pb_session_id", default=None)
_run_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("pb_run_id", default=None)
_agent_type: contextvars.ContextVar[str | None] = contextvars.ContextVar("pb_agent_type", default=None)

#: LogRecord attributes that are not "extra" fields.
_CONTEXT_KEYS = ("session_id", "run_id", "agent_type", "trace_id", "span_id")
_RESERVED = frozenset(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime"}


def current_session_id() -> str | None:
    """Return the session id bound by the innermost :func:`log_context`, if any."""
    return _session_id.get()


def current_run_id() -> str | None:
    """Return the run id bound by the innermost :func:`log_context`, if any."""
    return _run_id.get()


def current_agent_type() -> str | None:
    """Return the agent type bound by the innermost :func:`log_context`, if any."""
    return _agent_type.get()


@contextlib.contextmanager
def log_context(
    *, session_id: str | None = None, run_id: str | None = None, agent_type: str | None = None
) -> Iterator[None]:
    """Bind ids to every log record (and agent span, via the hook) emitted inside the block.

    Arguments left as ``None`` keep the enclosing value, so nested blocks can add a run id to an
    outer session id.

    Args:
        session_id: The session's id.
        run_id: The current AG-UI run id.
        agent_type: The agent role running in this block (``builder`` for module builders).
    """
    tokens: list[tuple[contextvars.ContextVar[str | None], contextvars.Token[str | None]]] = []
    for var, value in ((_session_id, session_id), (_run_id, run_id), (_agent_type, agent_type)):
        if value is not None:
            tokens.append((var, var.set(str(value))))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def _current_trace_ids() -> tuple[str | None, str | None]:
    try:
        from opentelemetry import trace
    except ImportError:  # pragma: no cover - opentelemetry-api is a runtime dependency
        return None, None
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None, None
    return trace.format_trace_id(ctx.trace_id), trace.format_span_id(ctx.span_id)


class ContextFilter(logging.Filter):
    """Copy the bound ids and the current OTel trace/span id onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach ``session_id``, ``run_id``, ``agent_type``, ``trace_id``, ``span_id``."""
        if getattr(record, "session_id", None) is None:
            record.session_id = _session_id.get()
        if getattr(record, "run_id", None) is None:
            record.run_id = _run_id.get()
        if getattr(record, "agent_type", None) is None:
            record.agent_type = _agent_type.get()
        if getattr(record, "trace_id", None) is None:
            record.trace_id, record.span_id = _current_trace_ids()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, ids, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a single-line JSON document."""
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _CONTEXT_KEYS:
            value = getattr(record, key, None)
            if value is not None:
                doc[key] = value
        for key, value in vars(record).items():
            if key not in _RESERVED and key not in _CONTEXT_KEYS and not key.startswith("_"):
                doc[key] = value if isinstance(value, str | int | float | bool | type(None)) else repr(value)
        if record.exc_info:
            doc["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


def configure_logging(
    level: str | int | None = None, *, stream: Any = None, json_logs: bool | None = None
) -> None:
    """Install one root handler that writes JSON lines with the bound ids.

    Idempotent: a second call replaces the handler it installed earlier and leaves other handlers
    alone.

    Args:
        level: Root log level; defaults to ``LOG_LEVEL`` or ``INFO``.
        stream: Where to write; defaults to ``sys.stderr``.
        json_logs: ``False`` for plain text (still with the ids); defaults to ``LOG_FORMAT != "text"``.
    """
    if level is None:
        level = os.environ.get("LOG_LEVEL", "INFO").upper()
    if json_logs is None:
        json_logs = os.environ.get("LOG_FORMAT", "json").lower() != "text"
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_playbook_handler", False):
            root.removeHandler(existing)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._playbook_handler = True  # type: ignore[attr-defined]
    handler.addFilter(ContextFilter())
    if json_logs:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)s %(name)s session_id=%(session_id)s run_id=%(run_id)s | %(message)s"
            )
        )
    root.addHandler(handler)
    root.setLevel(level)
