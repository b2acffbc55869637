"""Telemetry for the agent runtime: traces (MLflow locally, ADOT/CloudWatch deployed) and JSON logs.

Public API:

* :func:`init_telemetry` — call once at start-up. With ``MLFLOW_TRACKING_URI`` set, Strands'
  OpenTelemetry spans go to that MLflow server; without it nothing is installed, so the
  auto-instrumentation AgentCore Runtime runs (ADOT) exports the same spans to CloudWatch.
* :func:`shutdown_telemetry` — call at shutdown (the end of the ASGI lifespan) so that the last
  traces are flushed.
* :func:`agent_trace_attributes` — the ``session.id`` / ``user.id`` / ``vendor_id`` /
  ``agent_type`` / ``run_id`` mapping for ``Agent(trace_attributes=...)``.
* :class:`AgentObservabilityHook` — keeps ``run_id`` current on cached agents and adds per-run
  tokens and latency to the agent span.
* :func:`detached_otel_context` — module builders run inside it, so each starts its own root trace.
* :func:`log_context`, :func:`configure_logging` — JSON logs carrying ``session_id``/``run_id``.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

from .attributes import (
    AGENT_TYPE,
    CORRELATION_KEYS,
    MODULE_INDEX,
    RUN_ID,
    SESSION_ID,
    USER_ID,
    VENDOR_ID,
    agent_trace_attributes,
)
from .context import detached_otel_context
from .hooks import AgentObservabilityHook
from .logs import (
    JsonFormatter,
    configure_logging,
    current_agent_type,
    current_run_id,
    current_session_id,
    log_context,
)

__all__ = [
    "AGENT_TYPE",
    "CORRELATION_KEYS",
    "MODULE_INDEX",
    "RUN_ID",
    "SESSION_ID",
    "USER_ID",
    "VENDOR_ID",
    "AgentObservabilityHook",
    "JsonFormatter",
    "agent_trace_attributes",
    "configure_logging",
    "current_agent_type",
    "current_run_id",
    "current_session_id",
    "detached_otel_context",
    "init_telemetry",
    "log_context",
    "shutdown_telemetry",
    "telemetry_backend",
]

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_backend: str | None = None


def init_telemetry() -> None:
    """Install the trace exporter this environment calls for. Safe to call more than once.

    * ``MLFLOW_TRACKING_URI`` set: ``mlflow.strands.autolog()`` (MLflow's Strands span processor)
      on the global tracer provider, plus a processor that tags each trace with its session. If
      ``mlflow`` is not installed this logs an error and carries on without traces.
    * unset: nothing. Deployed on AgentCore Runtime the ADOT auto-instrumentation
      (``opentelemetry-instrument``) owns the tracer provider and exports to CloudWatch.

    Never raises: telemetry must not stop the runtime from serving.
    """
    global _backend
    with _lock:
        if _backend is not None:
            return
        tracking_uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
        if not tracking_uri:
            _backend = "none"
            logger.debug("no MLFLOW_TRACKING_URI | leaving the tracer provider to the environment")
            return
        try:
            from . import _mlflow

            _mlflow.install(tracking_uri)
            _backend = "mlflow"
            _flush_on_sigterm()
        except ImportError as exc:
            _backend = "none"
            logger.error(
                "tracking_uri=<%s>, error=<%s> | MLFLOW_TRACKING_URI is set but mlflow is not installed"
                " (pip install '.[telemetry]'); traces are off",
                tracking_uri,
                exc,
            )
        except Exception:
            _backend = "none"
            logger.exception(
                "tracking_uri=<%s> | could not set up mlflow tracing; traces are off", tracking_uri
            )


def _flush_on_sigterm() -> None:
    """Flush the traces when SIGTERM ends the process (``docker stop``, the test harness).

    Uvicorn handles SIGTERM with a graceful shutdown, then restores the previous handler and raises
    the signal again, so the process dies by it and ``atexit`` (where MLflow flushes) never runs.
    Installed before the server starts, this handler is that "previous handler": it flushes, then
    lets the signal terminate the process as before. Only when nobody else handles SIGTERM.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):
        return

    def _flush_then_terminate(signum: int, frame: object) -> None:
        shutdown_telemetry()
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    signal.signal(signal.SIGTERM, _flush_then_terminate)


def shutdown_telemetry(timeout_seconds: float = 5.0) -> None:
    """Flush buffered spans and traces. Call once when the server stops (end of the ASGI lifespan).

    Uvicorn re-raises SIGTERM after its graceful shutdown, so the process dies by the signal and
    ``atexit`` handlers — where MLflow (and ADOT's batch processor) would flush — never run. Without
    this call the traces of the last few seconds (typically the last builders') are lost or left
    ``IN_PROGRESS``. Never raises.

    Args:
        timeout_seconds: How long the tracer provider may take to flush.
    """
    from opentelemetry import trace as trace_api

    try:
        force_flush = getattr(trace_api.get_tracer_provider(), "force_flush", None)
        if callable(force_flush):
            force_flush(int(timeout_seconds * 1000))
        if _backend == "mlflow":
            import mlflow

            mlflow.flush_trace_async_logging(terminate=False)
    except Exception:
        logger.warning("could not flush telemetry at shutdown", exc_info=True)


def telemetry_backend() -> str | None:
    """Return ``"mlflow"`` or ``"none"`` once :func:`init_telemetry` ran, else ``None``."""
    return _backend
