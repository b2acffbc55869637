"""Thread-safe hand-off of SSE frames from producers on any thread to an async consumer.

Agent work runs on the AgentCore worker loop and in builder threads; the HTTP response body is
iterated on uvicorn's main loop. :class:`Waker` lets a producer on any thread wake a coroutine on
another loop (``call_soon_threadsafe``); :class:`FrameChannel` is a single-consumer queue built on
it, with an SSE heartbeat while the producer is silent.

A turn writes dozens of frames; the consumer is only woken when it is actually waiting (it
drains everything queued before it waits again), and a producer on the consumer's own loop sets
the event directly — so most frames cost neither a cross-thread wake-up nor a loop iteration.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator

from agent_runtime.events.sse import HEARTBEAT

__all__ = ["Waker", "FrameChannel"]


class Waker:
    """Wakes one coroutine (on the loop it was created on) from any thread."""

    def __init__(self) -> None:
        """Bind to the running loop. Must be created inside a coroutine."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def wake(self) -> None:
        """Signal the waiting coroutine; safe from any thread, and after the loop closed."""
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:  # a plain thread (a builder)
            here = None
        if here is self._loop:
            self._event.set()
            return
        try:
            self._loop.call_soon_threadsafe(self._event.set)
        except RuntimeError:  # the consumer's loop is gone; nobody is waiting any more
            pass

    def clear(self) -> None:
        """Forget earlier signals (call from the owning loop, under the producer's lock)."""
        self._event.clear()

    async def wait(self, timeout: float) -> bool:
        """Wait for a signal; ``False`` on timeout."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        return True


class FrameChannel:
    """A single-consumer frame queue: ``put`` from any thread, ``frames()`` on any loop."""

    def __init__(self, heartbeat_seconds: float) -> None:
        """Create an open, empty channel.

        Args:
            heartbeat_seconds: Silence after which the consumer yields an SSE comment.
        """
        self._lock = threading.Lock()
        self._items: deque[bytes] = deque()
        self._closed = False
        self._waker: Waker | None = None
        self._waiting = False  # the consumer found nothing and waits (or is about to)
        self._heartbeat = heartbeat_seconds

    def put(self, data: bytes) -> None:
        """Queue bytes for the consumer (ignored once closed); wakes it only if it waits."""
        with self._lock:
            if self._closed:
                return
            self._items.append(data)
            waker = self._waker if self._waiting else None
            self._waiting = False
        if waker is not None:
            waker.wake()

    def close(self) -> None:
        """No more frames; the consumer finishes after draining."""
        with self._lock:
            self._closed = True
            waker = self._waker
        if waker is not None:
            waker.wake()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    async def frames(self) -> AsyncIterator[bytes]:
        """Yield queued bytes (batched) until closed and drained; heartbeats while silent."""
        waker = Waker()
        with self._lock:
            self._waker = waker
        while True:
            with self._lock:
                batch = list(self._items)
                self._items.clear()
                closed = self._closed
                if not batch and not closed:
                    waker.clear()
                    self._waiting = True
            if batch:
                yield b"".join(batch)
                continue
            if closed:
                return
            if not await waker.wait(self._heartbeat):
                yield HEARTBEAT
