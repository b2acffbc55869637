"""OpenTelemetry context helpers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from opentelemetry import context as otel_context


@contextlib.contextmanager
def detached_otel_context() -> Iterator[None]:
    """Run the block with an empty OpenTelemetry context, so the next span is a new root trace.

    Strands instruments ``threading`` (``ThreadingInstrumentor``), so a job submitted to a
    ``ThreadPoolExecutor`` from inside the orchestrator's ``build_modules`` tool span inherits that
    span as its parent. A module builder runs inside this block instead: its agent span becomes the
    root of its own trace, correlated with the orchestrator's trace by ``session.id`` — the
    orchestrator's trace may be exported long before the builders finish, which would orphan child
    spans.
    """
    token = otel_context.attach(otel_context.Context())
    try:
        yield
    finally:
        otel_context.detach(token)
