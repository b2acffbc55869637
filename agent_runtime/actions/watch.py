"""The ``watch`` action: stream a session's background build.

A watch starts with ``RUN_STARTED`` and the current canvas (``STATE_SNAPSHOT``), re-announces the
builders working right now (``SUBAGENT_STARTED``), then relays the session's build-event log live
— ``SUBAGENT_*``, the builders' ``TOOL_CALL_*``, ``CUSTOM module.status`` / ``build.progress`` —
until the build's end: the refinement snapshot and the "Done!" message from the log, then this
stream's own ``CUSTOM portal.done`` + ``RUN_FINISHED`` (or ``CUSTOM run.cancelled`` +
``RUN_FINISHED`` cancelled when the build was stopped).

With ``last_event_id`` (the web app maps ``Last-Event-ID`` into it) and a log that still reaches
back that far, it skips the snapshot and replays only the entries after that id: no gap, no
duplicate. Otherwise it starts from the snapshot. Frames this stream makes itself carry the id
of the log position they stand for, so any id the client saw is a valid resume point. When
nothing is building it sends the snapshot, ``portal.done`` and ``RUN_FINISHED``.

Ids are one per-session sequence across all streams, so a browser that opens the watch with the
id of the ``build_modules`` ``TOOL_CALL_END`` frame of its chat stream gets the whole build from
its first event (every ``SUBAGENT_STARTED``), with nothing replayed twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ag_ui.core import BaseEvent

from agent_runtime.agents.builder import SUBAGENT_NAME, BuildJob
from agent_runtime.canvas import Canvas
from agent_runtime.contract import CustomEventName, ErrorCode, WatchPayload
from agent_runtime.events import factory
from agent_runtime.events.sse import HEARTBEAT, frame, frame_from_data
from agent_runtime.session.cache import SessionEntry
from agent_runtime.session.channel import Waker
from agent_runtime.usage import with_usage

__all__ = ["watch_stream", "empty_watch_stream"]


def _running_job(entry: SessionEntry) -> BuildJob | None:
    build = entry.build
    return build if isinstance(build, BuildJob) and build.running else None


async def watch_stream(
    entry: SessionEntry, payload: WatchPayload, heartbeat_seconds: float
) -> AsyncIterator[bytes]:
    """The SSE body of one watch."""
    thread_id, run_id = entry.session_id, factory.new_id("run")
    log = entry.ephemeral
    waker = Waker()
    log.subscribe(waker)
    try:
        with entry.canvas.lock:
            snapshot = with_usage(entry.canvas.snapshot(), entry.usage)
            head = log.head()
            job = _running_job(entry)
            running = dict(job.running_subagents) if job is not None else {}
        cursor = payload.last_event_id
        resume = cursor is not None and cursor <= head and not log.read_after(cursor).gap
        if cursor is None or not resume:
            cursor = head
        yield frame(cursor, factory.run_started(thread_id, run_id))
        if not resume:
            events: list[BaseEvent] = [factory.state_snapshot(snapshot)]
            events += [
                factory.subagent_started(sub_id, SUBAGENT_NAME, title, {"module_index": index})
                for index, (sub_id, title) in sorted(running.items())
            ]
            yield b"".join(frame(cursor, event) for event in events)
        while True:
            read = log.read_after(cursor)
            if read.gap:  # fell behind the bounded log: start over from the current canvas
                with entry.canvas.lock:
                    snapshot, cursor = with_usage(entry.canvas.snapshot(), entry.usage), log.head()
                yield frame(cursor, factory.state_snapshot(snapshot))
                continue
            chunks: list[bytes] = []
            for item in read.entries:
                if item.kind == "end":
                    chunks.append(
                        _ending(item.seq, thread_id, run_id, item.outcome, entry.canvas, item.data)
                    )
                    yield b"".join(chunks)
                    return
                chunks.append(frame_from_data(item.seq, item.data))
                cursor = item.seq
            if chunks:
                yield b"".join(chunks)
                continue
            if _running_job(entry) is None and not log.read_after(cursor).entries:
                yield _ending(cursor, thread_id, run_id, "success", entry.canvas)
                return
            if log.clear_if_idle(waker, cursor) and not await waker.wait(heartbeat_seconds):
                yield HEARTBEAT
    finally:
        log.unsubscribe(waker)


async def empty_watch_stream(session_id: str) -> AsyncIterator[bytes]:
    """A watch for a session this process does not know: the empty canvas, then done."""
    run_id = factory.new_id("run")
    yield frame(0, factory.run_started(session_id, run_id))
    yield frame(0, factory.state_snapshot(with_usage(Canvas().snapshot(), None)))
    yield _ending(0, session_id, run_id, "success", Canvas())


def _ending(
    event_id: int, thread_id: str, run_id: str, outcome: str, canvas: Canvas, detail: str = ""
) -> bytes:
    if outcome == "budget":  # the build passed a token budget: the modules built so far stay
        events: list[BaseEvent] = [
            factory.run_error(ErrorCode.BUDGET_EXCEEDED, detail or "the token budget is used up")
        ]
    elif outcome == "cancelled":
        events = [
            factory.custom(CustomEventName.CANCELLED, {"reason": "stop"}),
            factory.run_cancelled_finish(thread_id, run_id),
        ]
    else:
        snapshot = canvas.snapshot()
        events = [
            factory.custom(
                CustomEventName.DONE, {"phase": snapshot["phase"], "version": snapshot["version"]}
            ),
            factory.run_finished(thread_id, run_id),
        ]
    return b"".join(frame(event_id, event) for event in events)
