"""Strands ``stream_async`` events → AG-UI text events, and what a throttled retry means for the page.

Assistant text is translated here: a text delta (``{"data": str, "delta": …}``) opens or
continues a ``TEXT_MESSAGE``; the end of a content block or of the model message closes it. Tool
calls are not translated from the model stream: the canvas tools announce them after the canvas
accepted them (with the normalised arguments), so the browser never applies a call the runtime
refused.

A throttled model call that Strands retries (``{"event_loop_throttled_delay": seconds}``) streams
its whole answer again. The text the failed attempt already streamed is therefore *withdrawn*:
its message is closed and ``CUSTOM model.retry {attempt, delay_seconds, withdrawn: [ids]}`` tells
the page to remove those messages, so no text is ever shown twice. An attempt starts at the
model's ``messageStart``; messages opened since then belong to it until its ``messageStop``.

Usage metadata (``{"event": {"metadata": {"usage": …}}}``) is left untouched in the stream for
whoever meters tokens; nothing here consumes it.
"""

from __future__ import annotations

from typing import Any

from agent_runtime.contract import CustomEventName
from agent_runtime.events import factory
from agent_runtime.events.emitter import RunEmitter

__all__ = ["StreamTranslator", "forward_strands_event"]

THROTTLED_KEY = "event_loop_throttled_delay"


class StreamTranslator:
    """Translates one run's Strands events; remembers which messages the current attempt opened."""

    def __init__(self, emitter: RunEmitter) -> None:
        """Write to ``emitter``."""
        self.emitter = emitter
        self._attempt_messages: list[str] = []
        self.retries = 0

    def __call__(self, event: dict[str, Any]) -> None:
        """Write the AG-UI events one Strands stream event calls for (often none)."""
        emitter = self.emitter
        data = event.get("data")
        if isinstance(data, str) and "delta" in event:
            emitter.text(data)
            opened = emitter.open_message_id
            if opened is not None and opened not in self._attempt_messages:
                self._attempt_messages.append(opened)
            return
        if THROTTLED_KEY in event:
            self.throttled(float(event[THROTTLED_KEY]), int(event.get("attempt", self.retries + 1)))
            return
        chunk = event.get("event")
        if not isinstance(chunk, dict):
            return
        if "messageStart" in chunk:
            self._attempt_messages = []
        if "contentBlockStop" in chunk or "messageStop" in chunk:
            emitter.end_text()
        if "messageStop" in chunk:
            self._attempt_messages = []  # a complete answer is final: a later retry never withdraws it

    def throttled(self, delay: float, attempt: int) -> None:
        """The model call is retried after ``delay`` seconds: withdraw what this attempt showed."""
        self.retries += 1
        self.emitter.end_text()
        withdrawn, self._attempt_messages = self._attempt_messages, []
        self.emitter.emit(
            factory.custom(
                CustomEventName.MODEL_RETRY,
                {"attempt": attempt, "delay_seconds": round(delay, 2), "withdrawn": withdrawn},
            )
        )


def forward_strands_event(event: dict[str, Any], emitter: RunEmitter) -> None:
    """Stateless form for a single event (a retry withdraws nothing: no attempt is tracked)."""
    StreamTranslator(emitter)(event)
