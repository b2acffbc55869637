"""A strict scripted model for tests: each call consumes the next scripted step.

It fails loudly on a call nobody scripted, and :meth:`ScriptedModel.assert_complete` fails when
scripted steps were never used, so a test states exactly how many model calls a run makes.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel
from strands.models.model import Model
from strands.types.content import Messages
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolSpec

from agent_runtime.errors import ModelFault
from agent_runtime.models._stream import reply_events

__all__ = ["Step", "ScriptedModel", "UnexpectedModelCall"]

T = TypeVar("T", bound=BaseModel)


class UnexpectedModelCall(ModelFault, AssertionError):
    """The model was called more often than scripted."""


@dataclass(frozen=True)
class Step:
    """One scripted model response.

    Attributes:
        text: Text streamed first (``None`` for none).
        tool_calls: ``(name, args)`` pairs sent as tool uses after the text.
        delay: Seconds to wait first (returns early, with no events, when cancelled).
        hang: Wait until cancelled, then return nothing (for budget and stop tests).
        until: Wait (without blocking the event loop) until this event is set, then answer.
        error: Raise this instead of answering.
        check: Called with the messages, tool specs and system prompt (assert inside it).
    """

    text: str | None = None
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    delay: float = 0.0
    hang: bool = False
    until: threading.Event | None = field(default=None, compare=False)
    error: BaseException | None = None
    check: Callable[[Messages, list[ToolSpec], str | None], None] | None = field(default=None, compare=False)


class ScriptedModel(Model):
    """Answers from a fixed list of :class:`Step`; strict about the number of calls."""

    def __init__(self, steps: Iterable[Step], *, name: str = "scripted") -> None:
        """Create the model from its script."""
        self._steps: deque[Step] = deque(steps)
        self._lock = threading.Lock()
        self.config: dict[str, Any] = {"model_id": name, "context_window_limit": 200_000}
        self.calls: list[dict[str, Any]] = []
        self.unexpected: list[str] = []

    def update_config(self, **model_config: Any) -> None:
        """Merge configuration overrides."""
        self.config.update(model_config)

    def get_config(self) -> dict[str, Any]:
        """The configuration."""
        return dict(self.config)

    async def structured_output(
        self, output_model: type[T], prompt: Messages, system_prompt: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[dict[str, T | Any], None]:
        """Not scripted: the runtime uses the structured-output tool path instead."""
        raise UnexpectedModelCall("structured_output() is not scripted")
        yield {}  # pragma: no cover

    async def stream(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        *,
        cancel_signal: threading.Event | None = None,
        **kwargs: Any,
    ) -> AsyncIterable[StreamEvent]:
        """Answer with the next step."""
        with self._lock:
            self.calls.append(
                {
                    "messages": list(messages),
                    "tools": [t["name"] for t in tool_specs or []],
                    "system_prompt": system_prompt,
                }
            )
            if not self._steps:
                message = f"unexpected model call #{len(self.calls)} ({self.config['model_id']})"
                self.unexpected.append(message)
                raise UnexpectedModelCall(message)
            step = self._steps.popleft()
        if step.check is not None:
            step.check(messages, list(tool_specs or []), system_prompt)
        if step.error is not None:
            raise step.error
        if step.until is not None:
            while not step.until.is_set():
                if cancel_signal is not None and cancel_signal.is_set():
                    return
                await asyncio.sleep(0.005)
        if step.hang or step.delay:
            cancelled = await _wait(cancel_signal, None if step.hang else step.delay)
            if cancelled:
                return
        for event in reply_events(step.text, step.tool_calls):
            yield event

    @property
    def remaining(self) -> int:
        """Steps not used yet."""
        with self._lock:
            return len(self._steps)

    def assert_complete(self) -> None:
        """Fail if a step was never used or an unscripted call happened."""
        assert not self.unexpected, self.unexpected
        assert self.remaining == 0, f"{self.remaining} scripted model step(s) were never used"


async def _wait(cancel_signal: threading.Event | None, seconds: float | None) -> bool:
    """Wait ``seconds`` (forever if ``None``) or until cancelled; ``True`` when cancelled."""
    loop = asyncio.get_running_loop()
    deadline = None if seconds is None else loop.time() + seconds
    while deadline is None or loop.time() < deadline:
        if cancel_signal is not None and cancel_signal.is_set():
            return True
        await asyncio.sleep(0.01)
    return bool(cancel_signal is not None and cancel_signal.is_set())
