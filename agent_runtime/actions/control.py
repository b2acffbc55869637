"""Out-of-band actions: ``stop``, ``reset`` and ``resume_interrupt``.

``stop`` cancels the session's turn and build at once (flag + ``Agent.cancel()``), then waits —
up to ``stop_wait_seconds`` — for them to wind down, so when its stream ends nothing of the
session is still working. Its stream: ``RUN_STARTED``, ``STATE_SNAPSHOT``, ``CUSTOM
run.cancelled``, ``RUN_FINISHED`` (cancelled) — also when nothing was running.

``reset`` does the same cancelling, drops the cache entry (the next turn starts fresh, from the
router) and answers ``RUN_STARTED``, the empty ``STATE_SNAPSHOT``, ``CUSTOM portal.done``,
``RUN_FINISHED``.

A ``stop`` also raises the session's stored stop flag (the dispatcher does that), so a turn or
build running on another runtime stops too; this runtime's stream answers at once with the
canvas it knows (its own, else the stored one). ``resume_interrupt`` lives in
:mod:`agent_runtime.actions.resume`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from agent_runtime.canvas import Canvas
from agent_runtime.contract import CustomEventName
from agent_runtime.events import factory
from agent_runtime.events.sse import frame
from agent_runtime.session.cache import SessionEntry
from agent_runtime.session.control import RunControl
from agent_runtime.session.ephemeral import EphemeralState
from agent_runtime.usage import with_usage

__all__ = ["stop_now", "stop_stream", "reset_now", "reset_stream"]

logger = logging.getLogger(__name__)


async def _wait_done(controls: list[RunControl], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    for control in controls:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not await asyncio.to_thread(control.done.wait, remaining):
            return False
    return True


def stop_now(entry: SessionEntry | None) -> list[RunControl]:
    """Cancel everything the session runs (call before streaming, so it takes effect at once)."""
    if entry is None:
        return []
    controls = entry.cancel_all("stop")
    logger.info("session_id=<%s>, runs=<%d> | stop requested", entry.session_id, len(controls))
    return controls


async def stop_stream(
    session_id: str,
    entry: SessionEntry | None,
    controls: list[RunControl],
    wait_seconds: float,
    *,
    canvas: Canvas | None = None,
) -> AsyncIterator[bytes]:
    """The SSE body of a ``stop`` (``canvas``: what to snapshot when this process lacks the entry)."""
    ids = entry.ephemeral if entry is not None else EphemeralState(1)
    run_id = factory.new_id("run")
    yield frame(ids.next_id(), factory.run_started(session_id, run_id))
    if controls and not await _wait_done(controls, wait_seconds):
        logger.warning("session_id=<%s> | stopped work did not wind down in time", session_id)
    snapshot = entry.canvas.snapshot() if entry is not None else (canvas or Canvas()).snapshot()
    events = [
        factory.state_snapshot(with_usage(snapshot, entry.usage if entry is not None else None)),
        factory.custom(CustomEventName.CANCELLED, {"reason": "stop"}),
        factory.run_cancelled_finish(session_id, run_id),
    ]
    yield b"".join(frame(ids.next_id(), event) for event in events)


def reset_now(entry: SessionEntry | None) -> list[RunControl]:
    """Cancel the dropped entry's work (the caller already removed it from the cache)."""
    if entry is None:
        return []
    controls = entry.cancel_all("reset")
    logger.info("session_id=<%s>, runs=<%d> | session reset", entry.session_id, len(controls))
    return controls


async def reset_stream(
    session_id: str, controls: list[RunControl], wait_seconds: float
) -> AsyncIterator[bytes]:
    """The SSE body of a ``reset``."""
    ids = EphemeralState(1)
    run_id = factory.new_id("run")
    yield frame(ids.next_id(), factory.run_started(session_id, run_id))
    if controls:
        await _wait_done(controls, wait_seconds)
    snapshot = Canvas().snapshot()
    events = [
        factory.state_snapshot(with_usage(snapshot, None)),  # a reset session starts from zero
        factory.custom(CustomEventName.DONE, {"phase": snapshot["phase"], "version": snapshot["version"]}),
        factory.run_finished(session_id, run_id),
    ]
    yield b"".join(frame(ids.next_id(), event) for event in events)
