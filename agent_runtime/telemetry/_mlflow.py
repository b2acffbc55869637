"""MLflow wiring: Strands' OpenTelemetry spans → the MLflow tracking server.

Imported only when ``MLFLOW_TRACKING_URI`` is set, so the runtime never needs ``mlflow`` otherwise.

We use ``mlflow.strands.autolog()``, which registers MLflow's ``StrandsSpanProcessor`` on the global
OpenTelemetry tracer provider. It turns each Strands span into a typed MLflow span (AGENT /
CHAT_MODEL / TOOL, inputs and outputs from the gen_ai events, token usage in MLflow's format so the
trace shows totals) and ships finished traces through MLflow's own exporter. Plain OTLP to the
server's ``/v1/traces`` would need an extra exporter package and would store raw spans without the
span types, inputs/outputs and token roll-ups the MLflow UI is built around.

:class:`SessionTraceTagger` adds what autologging does not: the session's correlation attributes
become the trace's metadata (``mlflow.trace.session`` / ``mlflow.trace.user``, which the MLflow UI
groups sessions by) and tags, so ``search_traces`` can filter one session's traces.
"""

from __future__ import annotations

import logging
import os

from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider

from . import attributes as attrs

logger = logging.getLogger(__name__)

#: MLflow's trace metadata keys for sessions and users (``mlflow.tracing.constant.TraceMetadataKey``).
TRACE_SESSION_KEY = "mlflow.trace.session"
TRACE_USER_KEY = "mlflow.trace.user"

#: Span attributes copied onto the MLflow trace as tags (searchable as ``tags.`<key>```).
TAGGED_ATTRIBUTES: tuple[str, ...] = attrs.CORRELATION_KEYS + (attrs.MODULE_INDEX,)

DEFAULT_EXPERIMENT = "playbook-builder"


class SessionTraceTagger(SpanProcessor):
    """Copy ``session.id``, ``user.id``, … from a span onto its MLflow trace before export.

    Strands sets span attributes right after starting the span, so they are read at ``on_end``.
    Every child span (cycle, model, tool) ends before the root agent span, so the trace's metadata
    is complete by the time MLflow exports it on the root's end.
    """

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do at start: the attributes are not there yet."""

    def on_end(self, span: ReadableSpan) -> None:
        """Write the span's correlation attributes to its MLflow trace's metadata and tags."""
        span_attrs = span.attributes or {}
        if attrs.SESSION_ID not in span_attrs or span.context is None:
            return
        try:
            from mlflow.tracing.trace_manager import InMemoryTraceManager

            manager = InMemoryTraceManager.get_instance()
            trace_id = manager.get_mlflow_trace_id_from_otel_id(span.context.trace_id)
            if trace_id is None:
                return
            with manager.get_trace(trace_id) as trace:
                if trace is None:
                    return
                metadata = trace.info.trace_metadata
                metadata.setdefault(TRACE_SESSION_KEY, str(span_attrs[attrs.SESSION_ID]))
                if attrs.USER_ID in span_attrs:
                    metadata.setdefault(TRACE_USER_KEY, str(span_attrs[attrs.USER_ID]))
                for key in TAGGED_ATTRIBUTES:
                    if key in span_attrs:
                        trace.info.tags.setdefault(key, str(span_attrs[key]))
        except Exception:  # never let tracing break a run
            logger.debug("could not tag mlflow trace", exc_info=True)

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered here."""
        return True


def _reachable(tracking_uri: str, timeout: float = 2.0) -> bool:
    """Whether an HTTP tracking server answers ``/health`` (other URIs are local stores: True).

    Checked first because MLflow's own client retries a refused connection with back-off for
    minutes, which would hold up the runtime's start.
    """
    if not tracking_uri.startswith(("http://", "https://")):
        return True
    import urllib.request

    try:
        with urllib.request.urlopen(tracking_uri.rstrip("/") + "/health", timeout=timeout) as response:
            return bool(200 <= response.status < 300)
    except Exception:
        return False


def install(tracking_uri: str) -> None:
    """Point MLflow at ``tracking_uri`` and route Strands' spans to it.

    Args:
        tracking_uri: The MLflow tracking server (``http://mlflow:5000``) or a local store URI.
    """
    import mlflow
    import mlflow.strands

    mlflow.set_tracking_uri(tracking_uri)
    experiment = os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
    selected = False
    if _reachable(tracking_uri):
        try:
            mlflow.set_experiment(experiment)
            selected = True
        except Exception as exc:
            logger.warning(
                "experiment=<%s>, error=<%s> | could not select mlflow experiment", experiment, exc
            )
    if not selected:
        # MLflow then looks the experiment up (creating it) when the first trace starts, so traces
        # still land in the right experiment once the server is up.
        os.environ["MLFLOW_EXPERIMENT_NAME"] = experiment
        logger.warning(
            "tracking_uri=<%s>, experiment=<%s> | mlflow not reachable at start-up; resolving per trace",
            tracking_uri,
            experiment,
        )

    provider = trace_api.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        from strands.telemetry.config import get_otel_resource

        provider = TracerProvider(resource=get_otel_resource())
        trace_api.set_tracer_provider(provider)
    # The tagger goes first so that it sees a root span's end before MLflow exports the trace.
    provider.add_span_processor(SessionTraceTagger())
    mlflow.strands.autolog(silent=True)
    logger.info("tracking_uri=<%s>, experiment=<%s> | strands spans go to mlflow", tracking_uri, experiment)
