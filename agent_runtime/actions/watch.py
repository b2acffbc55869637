"""The ``watch`` action: stream a session's background build.

A watch starts with ``RUN_STARTED`` and the current canvas (``STATE_SNAPSHOT``) — a watch that
joins the session (no ``last_event_id``: another tab, another browser, a reopened draft) has the
transcript (``MESSAGES_SNAPSHOT``, :func:`~agent_runtime.actions.transcript.transcript`) between
the two — re-announces the
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

Each watch is a valid AG-UI run on its own, whatever it resumes from: the builders open at its
starting point are announced (their logged ``SUBAGENT_STARTED``, re-sent) before anything else
of theirs, and a resume point inside a tool call or text message replays that whole group (see
:class:`~agent_runtime.session.ephemeral.EphemeralState`). A watcher that falls behind the
bounded log closes the builders that finished meanwhile, takes the current canvas and announces
the ones that started meanwhile.

Ids are one per-session sequence across all streams, so a browser that opens the watch with the
id of the ``build_modules`` ``TOOL_CALL_END`` frame of its chat stream gets the whole build from
its first event (every ``SUBAGENT_STARTED``), with nothing replayed twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from agent_runtime.actions.transcript import transcript
from agent_runtime.agents.builder import BuildJob
from agent_runtime.canvas import Canvas
from agent_runtime.contract import CustomEventName, ErrorCode, WatchPayload
from agent_runtime.events import factory
from agent_runtime.events.sse import HEARTBEAT, frame, frame_from_data
from agent_runtime.session.cache import SessionEntry
from agent_runtime.session.channel import Waker
from agent_runtime.session.ephemeral import EphemeralState
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
        cursor = payload.last_event_id
        resume = cursor is not None and cursor <= head
        if cursor is not None and resume:
            cursor = log.resume_point(cursor)
            resume = not log.read_after(cursor).gap
        if cursor is None or not resume:
            cursor = head
        opening = [frame(cursor, factory.run_started(thread_id, run_id))]
        if payload.last_event_id is None:  # joining: the transcript, then the canvas
            opening.append(frame(cursor, factory.messages_snapshot(transcript(entry))))
        if not resume:
            opening.append(frame(cursor, factory.state_snapshot(snapshot)))
        # Builders already working at the cursor: announced before any of their events.
        opening += [frame_from_data(cursor, span.start_data) for span in log.open_subagents(cursor)]
        yield b"".join(opening)
        while True:
            read = log.read_after(cursor)
            if read.gap:  # fell behind the bounded log: start over from the current canvas
                with entry.canvas.lock:
                    snapshot, head = with_usage(entry.canvas.snapshot(), entry.usage), log.head()
                yield _skip(log, cursor, head, snapshot)
                cursor = head
                continue
            chunks: list[bytes] = []
            for item in read.entries:
                if item.kind == "end":
                    chunks.append(_ending(item.seq, thread_id, run_id, item.outcome, entry.canvas, item.data))
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


def _skip(log: EphemeralState, cursor: int, head: int, snapshot: dict[str, Any]) -> bytes:
    """Jump a watcher that fell behind from ``cursor`` to ``head``, keeping its run valid.

    The subagents it has open that finished in the skipped part are closed with their logged
    ending (or an error saying the outcome is in the snapshot), then the current canvas, then
    the subagents that started in the skipped part and still work are announced.
    """
    before = {span.subagent_run_id: span for span in log.open_subagents(cursor)}
    after = {span.subagent_run_id: span for span in log.open_subagents(head)}
    chunks: list[bytes] = []
    for sub_id in before.keys() - after.keys():
        span = log.subagent(sub_id)
        if span is not None and span.end_data:
            chunks.append(frame_from_data(head, span.end_data))
        else:
            lost = factory.subagent_error(sub_id, "finished while this stream fell behind", None, {})
            chunks.append(frame(head, lost))
    chunks.append(frame(head, factory.state_snapshot(snapshot)))
    chunks += [frame_from_data(head, span.start_data) for sid, span in after.items() if sid not in before]
    return b"".join(chunks)


async def empty_watch_stream(session_id: str, *, joining: bool = False) -> AsyncIterator[bytes]:
    """A watch for a session this process does not know: (joining: no messages,) the empty canvas, done."""
    run_id = factory.new_id("run")
    yield frame(0, factory.run_started(session_id, run_id))
    if joining:
        yield frame(0, factory.messages_snapshot([]))
    yield frame(0, factory.state_snapshot(with_usage(Canvas().snapshot(), None)))
    yield _ending(0, session_id, run_id, "success", Canvas())


def _ending(
    event_id: int, thread_id: str, run_id: str, outcome: str, canvas: Canvas, detail: str = ""
) -> bytes:
    if outcome == "budget":  # the build passed a token budget: the modules built so far stay
        events: list[Any] = [
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
