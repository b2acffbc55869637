"""The ``edit``, ``undo`` and ``redo`` actions: the person changes the canvas without a chat turn.

The work is done before the stream is returned (it takes milliseconds and never depends on the
client reading the answer), holding the session's turn slot so it never interleaves with a chat
turn or ``resume_interrupt``. The session is written to the store before the answer, so the change
survives eviction or a restart, and the new canvas goes into the session's event log as a
``STATE_SNAPSHOT``, so open watchers (and a watch resumed from an older id) see it. The agent sees
the new canvas on its next turn (its system prompt is rebuilt from the canvas every turn).

Streams (exactly one terminal event):

* done — ``RUN_STARTED``, ``STATE_SNAPSHOT`` (the new canvas), ``RUN_FINISHED``;
* refused — ``RUN_STARTED``, ``STATE_SNAPSHOT`` (the current canvas, so the page reconciles),
  ``RUN_ERROR`` with ``VERSION_CONFLICT`` (``edit``: a stale ``base_version``),
  ``BUILD_IN_PROGRESS`` (a build runs), ``NOTHING_TO_UNDO`` / ``NOTHING_TO_REDO``,
  ``INVALID_PAYLOAD`` (an op the canvas refused: out of range, over a limit) or ``SESSION_BUSY``
  (a chat turn is running, or an approval request waits: its paused call names modules by
  position, so the canvas must not move under it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from ag_ui.core import BaseEvent

from agent_runtime.canvas import CanvasError
from agent_runtime.canvas_edits import apply_edit, describe_ops, redo, undo
from agent_runtime.contract import EDIT_TOOLS, EditPayload, ErrorCode, RedoPayload, UndoPayload
from agent_runtime.errors import AgentRuntimeError, RequestRefused
from agent_runtime.events import factory
from agent_runtime.events.sse import frame
from agent_runtime.services import Services
from agent_runtime.session.cache import SessionEntry
from agent_runtime.session.store import store_io
from agent_runtime.usage import with_usage

__all__ = ["CanvasChange"]

logger = logging.getLogger(__name__)

ChangePayload = EditPayload | UndoPayload | RedoPayload


class CanvasChange:
    """Runs ``edit``, ``undo`` and ``redo``."""

    def __init__(self, services: Services) -> None:
        """Bind to the runtime's services."""
        self._services = services

    async def open(self, entry: SessionEntry, payload: ChangePayload) -> AsyncIterator[bytes]:
        """Apply the change (or refuse it) and return the SSE body that reports it."""
        sid, action = entry.session_id, str(payload.action)
        run_id = factory.new_id("run")
        started = frame(entry.ephemeral.next_id(), factory.run_started(sid, run_id))
        try:
            control = entry.begin_turn(run_id)
        except RequestRefused as exc:
            return _answer(entry, started, exc)
        try:  # the session is free again however this ends (a refusal, a cancelled request)
            try:
                # Off the event loop: diffing a large canvas for the undo history takes milliseconds.
                label = await asyncio.to_thread(self._change, entry, payload)
            except AgentRuntimeError as exc:
                logger.info(
                    "session_id=<%s>, action=<%s>, code=<%s> | canvas change refused", sid, action, exc.code
                )
                return _answer(entry, started, exc)
            await self._persist(entry)
            with entry.canvas.lock:  # watchers get it in order with everything else logged
                snapshot = with_usage(entry.canvas.snapshot(), entry.usage)
                seq = entry.ephemeral.append([factory.state_snapshot(snapshot)])
        finally:
            entry.end_turn(control)
            self._services.cache.touch(entry)
        logger.info(
            "session_id=<%s>, action=<%s>, change=<%s>, version=<%d> | canvas changed",
            sid,
            action,
            label,
            snapshot["version"],
        )
        return _stream(
            started,
            frame(seq, factory.state_snapshot(snapshot)),
            frame(entry.ephemeral.next_id(), factory.run_finished(sid, run_id)),
        )

    async def _persist(self, entry: SessionEntry) -> None:
        """Store the session (a store outage is logged; the change stands, as after a chat turn)."""
        keeper, writer = self._services.keeper, self._services.writer
        try:
            if writer.store.durable:  # persist writes through the orchestrator's session manager
                await store_io(writer.store, keeper.orchestrator, entry)
        except Exception:
            logger.exception("session_id=<%s> | could not open the session's store", entry.session_id)
            return
        await store_io(writer.store, writer.persist_quietly, entry)

    def _change(self, entry: SessionEntry, payload: ChangePayload) -> str:
        """Apply the change under the canvas lock; returns its label.

        Raises:
            AgentRuntimeError: The refusal, with its code.
        """
        canvas = entry.canvas
        with canvas.lock:
            build = entry.build
            if build is not None and build.running:
                raise RequestRefused(
                    "modules are being built; wait for the build to finish (or stop it) first",
                    ErrorCode.BUILD_IN_PROGRESS,
                )
            if entry.interrupts.pending:
                raise RequestRefused(
                    "an approval request is waiting; answer it (or send a message) first",
                    ErrorCode.SESSION_BUSY,
                )
            if isinstance(payload, UndoPayload | RedoPayload):
                undoing = isinstance(payload, UndoPayload)
                label = undo(canvas) if undoing else redo(canvas)
                canvas.history.note(f"{'undid' if undoing else 'redid'} a change ({label})")
                return f"{payload.action} {label}"
            if payload.base_version != canvas.version:
                raise RequestRefused(
                    f"the canvas changed (version {canvas.version}, the edit was made on "
                    f"version {payload.base_version}); here is the current canvas",
                    ErrorCode.VERSION_CONFLICT,
                )
            for number, op in enumerate(payload.ops):
                if op.tool not in EDIT_TOOLS:
                    why = f"op {number}: {op.tool!r} is not a tool a direct edit may use"
                    raise RequestRefused(why, ErrorCode.INVALID_PAYLOAD)
            label = describe_ops(payload.ops)
            try:
                apply_edit(canvas, payload.ops, label)
            except CanvasError as exc:
                raise RequestRefused(exc.message, ErrorCode.INVALID_PAYLOAD) from None
            canvas.history.note(label)
            return label


def _answer(entry: SessionEntry, started: bytes, exc: AgentRuntimeError) -> AsyncIterator[bytes]:
    """A refusal (``NOTHING_TO_UNDO`` and the like): the current canvas, then ``RUN_ERROR``."""
    with entry.canvas.lock:
        snapshot = with_usage(entry.canvas.snapshot(), entry.usage)
    events: list[BaseEvent] = [
        factory.state_snapshot(snapshot),
        factory.run_error(exc.code or ErrorCode.INTERNAL, exc.message),
    ]
    return _stream(started, *(frame(entry.ephemeral.next_id(), event) for event in events))


async def _stream(*frames: bytes) -> AsyncIterator[bytes]:
    yield b"".join(frames)
