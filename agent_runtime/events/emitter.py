"""The writer one run uses to put AG-UI events on its stream.

It gives every frame the session's next SSE id, keeps at most one text message open (so every
``TEXT_MESSAGE_START`` gets its ``END`` before a tool call or the end of the run), and knows
whether a terminal event was written (so a run ends with exactly one).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from ag_ui.core import BaseEvent, TextMessageContentEvent, TextMessageEndEvent, TextMessageStartEvent

from agent_runtime.contract import CustomEventName, ErrorCode, ToolErrorCode
from agent_runtime.events import factory
from agent_runtime.events.sse import TextContentFrames, frame

__all__ = ["FrameSink", "RunEmitter"]

_TERMINAL = frozenset({"RUN_FINISHED", "RUN_ERROR"})


class FrameSink(Protocol):
    """Where frames go (a :class:`~agent_runtime.session.channel.FrameChannel`)."""

    def put(self, data: bytes) -> None:
        """Queue encoded frames."""


class RunEmitter:
    """Writes one run's events, in order, to a sink."""

    def __init__(self, sink: FrameSink, next_id: Callable[[], int], thread_id: str, run_id: str) -> None:
        """Create an emitter.

        Args:
            sink: Where the encoded frames go.
            next_id: The session's SSE id source.
            thread_id: The AG-UI thread id (the session id).
            run_id: This run's id.
        """
        self._sink = sink
        self._next_id = next_id
        self._lock = threading.RLock()
        self._open_message: str | None = None
        self._content: TextContentFrames | None = None  # the open message's content frames
        self.thread_id = thread_id
        self.run_id = run_id
        self.terminated = False
        self.started = False

    def emit(self, *events: BaseEvent) -> None:
        """Write events (closing an open text message first unless they continue it)."""
        self.emit_all(events)

    def emit_all(self, events: Iterable[BaseEvent]) -> None:
        """Write a batch of events as one chunk."""
        with self._lock:
            if self.terminated:
                return
            chunks: list[bytes] = []
            for event in events:
                kind = str(event.type.value if hasattr(event.type, "value") else event.type)
                if self._open_message and not isinstance(
                    event, TextMessageContentEvent | TextMessageEndEvent
                ):
                    chunks.append(frame(self._next_id(), TextMessageEndEvent(message_id=self._open_message)))
                    self._open_message = None
                if isinstance(event, TextMessageEndEvent):
                    self._open_message = None
                chunks.append(frame(self._next_id(), event))
                if kind == "RUN_STARTED":
                    self.started = True
                if kind in _TERMINAL:
                    self.terminated = True
                    break
            if chunks:
                self._sink.put(b"".join(chunks))

    # ------------------------------------------------------------------ helpers

    def start(self) -> None:
        """``RUN_STARTED``."""
        self.emit(factory.run_started(self.thread_id, self.run_id))

    def text(self, delta: str) -> None:
        """Stream a piece of assistant text, opening a message if none is open.

        The hot path of a turn (one call per model text delta): the ``TEXT_MESSAGE_CONTENT``
        frame is written by :class:`~agent_runtime.events.sse.TextContentFrames` (the encoder's
        bytes without a pydantic event per delta).
        """
        if not delta:
            return
        with self._lock:
            if self.terminated:
                return
            content = self._content
            if content is not None and content.message_id == self._open_message:
                self._sink.put(content.frame(self._next_id(), delta))
                return
            message_id = factory.new_id("msg")
            start = frame(self._next_id(), TextMessageStartEvent(message_id=message_id, role="assistant"))
            content = TextContentFrames(message_id)
            self._sink.put(start + content.frame(self._next_id(), delta))
            self._open_message, self._content = message_id, content

    @property
    def open_message_id(self) -> str | None:
        """The id of the text message open right now, if any."""
        with self._lock:
            return self._open_message

    def end_text(self) -> None:
        """Close the open text message, if any."""
        with self._lock:
            if self._open_message is not None and not self.terminated:
                self.emit(TextMessageEndEvent(message_id=self._open_message))

    def tool_call(self, tool_call_id: str, name: str, args: dict[str, Any]) -> None:
        """``TOOL_CALL_START``/``ARGS``/``END`` for an applied tool call."""
        self.emit_all(factory.tool_call(tool_call_id, name, args))

    def snapshot(self, snapshot: dict[str, Any]) -> None:
        """``STATE_SNAPSHOT``."""
        self.emit(factory.state_snapshot(snapshot))

    def finish(self, done_value: dict[str, Any]) -> None:
        """``CUSTOM portal.done`` then ``RUN_FINISHED`` (success)."""
        self.emit(
            factory.custom(CustomEventName.DONE, done_value),
            factory.run_finished(self.thread_id, self.run_id),
        )

    def interrupted(self, done_value: dict[str, Any], interrupts: list[Any]) -> None:
        """``CUSTOM portal.done`` then ``RUN_FINISHED`` with the interrupt outcome."""
        self.emit(
            factory.custom(CustomEventName.DONE, done_value),
            factory.run_interrupted(self.thread_id, self.run_id, interrupts),
        )

    def cancelled(self, reason: str) -> None:
        """``CUSTOM run.cancelled`` then ``RUN_FINISHED`` (cancelled)."""
        self.emit(
            factory.custom(CustomEventName.CANCELLED, {"reason": reason}),
            factory.run_cancelled_finish(self.thread_id, self.run_id),
        )

    def error(self, code: ErrorCode | ToolErrorCode, message: str) -> None:
        """``RUN_ERROR`` (terminal)."""
        self.emit(factory.run_error(code, message))
