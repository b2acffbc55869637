"""Strands ``stream_async`` events → AG-UI text events.

Only assistant text is translated here: a text delta (``{"data": str, "delta": …}``) opens or
continues a ``TEXT_MESSAGE``; the end of a content block or of the model message closes it. Tool
calls are not translated from the model stream: the canvas tools announce them after the canvas
accepted them (with the normalised arguments), so the browser never applies a call the runtime
refused.
"""

from __future__ import annotations

from typing import Any

from agent_runtime.events.emitter import RunEmitter

__all__ = ["forward_strands_event"]


def forward_strands_event(event: dict[str, Any], emitter: RunEmitter) -> None:
    """Write the AG-UI events one Strands stream event calls for (often none)."""
    data = event.get("data")
    if isinstance(data, str) and "delta" in event:
        emitter.text(data)
        return
    chunk = event.get("event")
    if isinstance(chunk, dict) and ("contentBlockStop" in chunk or "messageStop" in chunk):
        emitter.end_text()
