"""The ``seed`` action: start an empty session on a saved playbook ("Refine with the assistant").

The web app sends it once, right after minting the session, with the saved playbook and a seed
token it signed over the session id and the playbook's digest
(:meth:`~agent_runtime.contract.TokenCodec.mint_seed`); the browser cannot send it. The runtime
checks the seed token, then — holding the session's turn, so no chat turn runs meanwhile — that
the session is empty (no canvas, no conversation, never stored), and puts the playbook on the
canvas: modules with tasks ``built``, those without ``pending`` (so "build it" builds them),
phase ``refinement``, version 1. The session goes straight to the orchestrator (no router turn:
its system prompt describes the canvas as every turn's does), and is stored at once, so another
runtime or a restart continues it.

Its stream: ``RUN_STARTED``, ``STATE_SNAPSHOT``, ``CUSTOM portal.done``, ``RUN_FINISHED``; a
refused seed is one ``RUN_ERROR`` (``TOKEN_*``/``SESSION_MISMATCH`` for a bad seed token,
``CONFLICT`` for a session that is not empty, ``SESSION_BUSY`` while a turn runs, ``INTERNAL``
when the session store cannot be written — the seed is then forgotten).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from agent_runtime.canvas import Canvas
from agent_runtime.contract import (
    CustomEventName,
    ErrorCode,
    ModuleStatus,
    Phase,
    PlaybookSpec,
    SeedPayload,
    TokenClaims,
    seed_digest,
)
from agent_runtime.errors import RequestRefused
from agent_runtime.events import factory
from agent_runtime.events.sse import frame
from agent_runtime.services import Services
from agent_runtime.session.cache import SessionEntry
from agent_runtime.usage import with_usage

__all__ = ["seed_session", "seed_stream", "seeded_canvas"]

logger = logging.getLogger(__name__)


def seeded_canvas(playbook: PlaybookSpec) -> Canvas:
    """The canvas of a reopened playbook: built modules (pending when they have no tasks), refinement."""
    book = playbook.model_copy(deep=True)
    for module in book.modules:
        module.status = ModuleStatus.BUILT if module.tasks else ModuleStatus.PENDING
        module.reason = None
    return Canvas(book, phase=Phase.REFINEMENT if book.modules else Phase.EMPTY, version=1)


def _is_empty(entry: SessionEntry) -> bool:
    canvas = entry.canvas
    return (
        entry.revision == 0
        and canvas.version == 0
        and canvas.module_count == 0
        and not entry.agents
        and entry.active_domain == "router"
    )


async def seed_session(services: Services, claims: TokenClaims, payload: SeedPayload) -> SessionEntry:
    """Check the seed and put the playbook on the (empty) session's canvas; store it.

    Raises:
        TokenError: The seed token is not the web app's for this session and playbook.
        RequestRefused: ``CONFLICT`` when the session is not empty, ``SESSION_BUSY`` while a turn runs.
    """
    services.codec.verify_seed(payload.seed_token, sid=claims.sid, digest=seed_digest(payload.playbook))
    keeper = services.keeper
    entry = await asyncio.to_thread(keeper.open, claims, create=True)
    assert entry is not None
    control = entry.begin_turn(factory.new_id("seed"))
    try:
        if not _is_empty(entry):
            raise RequestRefused("this session already has a playbook", ErrorCode.CONFLICT)
        seeded = seeded_canvas(payload.playbook)
        with entry.canvas.lock:
            entry.canvas = seeded
        entry.active_domain = "playbooks"
        try:
            await asyncio.to_thread(keeper.orchestrator, entry)  # the stored session needs its agent
            await asyncio.to_thread(services.writer.persist, entry)
        except Exception:
            # Not stored: forget it here too, so the page's retry seeds a clean session.
            logger.exception("session_id=<%s> | the seeded session could not be stored", claims.sid)
            services.cache.delete(claims.sid)
            raise RequestRefused("the session could not be stored; try again", ErrorCode.INTERNAL) from None
    finally:
        entry.end_turn(control)
    logger.info(
        "session_id=<%s>, playbook_id=<%s>, modules=<%d> | session seeded with a saved playbook",
        claims.sid,
        payload.playbook_id,
        entry.canvas.module_count,
    )
    return entry


async def seed_stream(entry: SessionEntry) -> AsyncIterator[bytes]:
    """The SSE body of an accepted seed."""
    run_id = factory.new_id("run")
    ids = entry.ephemeral
    with entry.canvas.lock:
        snapshot = with_usage(entry.canvas.snapshot(), entry.usage)
    events = [
        factory.run_started(entry.session_id, run_id),
        factory.state_snapshot(snapshot),
        factory.custom(CustomEventName.DONE, {"phase": snapshot["phase"], "version": snapshot["version"]}),
        factory.run_finished(entry.session_id, run_id),
    ]
    yield b"".join(frame(ids.next_id(), event) for event in events)
