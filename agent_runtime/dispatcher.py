"""The dispatcher: authenticate every invocation, then hand it to its action.

Checks, in order, each refusing with a single ``RUN_ERROR`` frame whose ``code`` says why:

1. the body is no larger than ``Limits.MAX_INVOCATION_BYTES`` (``PAYLOAD_TOO_LARGE``);
2. the payload validates (``UNKNOWN_ACTION``, ``TOKEN_MISSING``, ``PAYLOAD_TOO_LARGE`` for a
   prompt over 32 KB, ``INVALID_PAYLOAD``);
3. the ``X-Amzn-Bedrock-AgentCore-Runtime-Session-Id`` header equals the payload's
   ``session_id`` (``SESSION_MISMATCH``);
4. the token verifies (``TOKEN_INVALID``, ``TOKEN_EXPIRED``) and its ``sid`` is that session
   (``SESSION_MISMATCH``);
5. the session's identity, locked at first use, is the token's user and vendor
   (``IDENTITY_MISMATCH``) — also for a session rehydrated from the session store.

A session this process does not hold (or holds a stale copy of) is loaded from the session store
first (:class:`~agent_runtime.persistence.SessionKeeper`), so a recycled or different runtime
continues it. ``stop`` also raises the stored stop flag, which stops a turn running on another
runtime; ``reset`` also deletes the stored session.

Malformed JSON never reaches here: the AgentCore SDK answers it with HTTP 400
``{"error": "Invalid JSON", ...}``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from agent_runtime.actions import TurnRunner, refusal
from agent_runtime.actions.chat import ChatAction
from agent_runtime.actions.control import reset_now, reset_stream, stop_now, stop_stream
from agent_runtime.actions.edit import CanvasChange
from agent_runtime.actions.resume import ResumeAction
from agent_runtime.actions.seed import seed_session, seed_stream
from agent_runtime.actions.watch import empty_watch_stream, watch_stream
from agent_runtime.contract import (
    ChatPayload,
    EditPayload,
    ErrorCode,
    Limits,
    ParsedInvocation,
    PayloadError,
    Phase,
    RedoPayload,
    ResetPayload,
    SeedPayload,
    StopPayload,
    TokenClaims,
    TokenError,
    UndoPayload,
    WatchPayload,
    parse_invocation,
)
from agent_runtime.errors import RequestRefused
from agent_runtime.services import Services
from agent_runtime.session.cache import SessionEntry
from agent_runtime.session.store import store_io

__all__ = ["Dispatcher"]

logger = logging.getLogger(__name__)


class Dispatcher:
    """Routes authenticated invocations to chat, watch, stop, reset, interrupt, seed and canvas actions."""

    def __init__(self, services: Services) -> None:
        """Bind to the runtime's services."""
        self.services = services
        runner = TurnRunner(services)
        self._chat = ChatAction(services, runner)
        self._resume = ResumeAction(services, runner, self._chat)
        self._change = CanvasChange(services)

    async def dispatch(
        self, body: Any, header_session_id: str | None, content_length: int | None = None
    ) -> AsyncIterator[bytes]:
        """Check an invocation and start it.

        Must be awaited on the event loop that runs agent work (the AgentCore worker loop).

        Args:
            body: The decoded JSON body.
            header_session_id: The AgentCore session header, if any.
            content_length: The request's declared body size, if known.

        Returns:
            The SSE body to stream back.
        """
        try:
            if content_length is not None and content_length > Limits.MAX_INVOCATION_BYTES:
                raise RequestRefused(
                    f"the request is larger than {Limits.MAX_INVOCATION_BYTES} bytes",
                    ErrorCode.PAYLOAD_TOO_LARGE,
                )
            payload = parse_invocation(body)
            claims = self._authenticate(payload.session_id, payload.token, header_session_id)
            return await self._start(payload, claims)
        except (PayloadError, TokenError, RequestRefused) as exc:
            logger.info("session_id=<%s>, code=<%s> | invocation refused", header_session_id, exc.code)
            return refusal(exc.code, exc.message)

    def _authenticate(self, session_id: str, token: str, header_session_id: str | None) -> TokenClaims:
        if header_session_id != session_id:
            raise RequestRefused(
                "the session header does not match the payload's session_id", ErrorCode.SESSION_MISMATCH
            )
        claims = self.services.codec.verify(token)
        if claims.sid != session_id:
            raise RequestRefused("the token was issued for another session", ErrorCode.SESSION_MISMATCH)
        return claims

    def _local(self, claims: TokenClaims) -> SessionEntry | None:
        """The entry this process holds (no store access), identity-checked."""
        entry = self.services.cache.get(claims.sid)
        if entry is not None and (entry.user_id != claims.uid or entry.vendor_id != claims.vid):
            raise RequestRefused("this session belongs to another user", ErrorCode.IDENTITY_MISMATCH)
        return entry

    async def _open(self, claims: TokenClaims, *, create: bool) -> SessionEntry | None:
        """The session's entry, loaded from the store when this process lacks a fresh copy.

        Inline for a local store (a ``stat`` when the cached copy is fresh), else in a thread.
        """
        services = self.services
        return await store_io(services.writer.store, services.keeper.open, claims, create=create)

    async def _start(
        self,
        payload: ParsedInvocation,
        claims: TokenClaims,
    ) -> AsyncIterator[bytes]:
        services = self.services
        settings = services.settings
        keeper, writer = services.keeper, services.writer
        if isinstance(payload, ChatPayload):
            entry = await self._open(claims, create=True)
            assert entry is not None
            return self._chat.open(entry, payload)
        if isinstance(payload, WatchPayload):
            watched = await self._open(claims, create=False)
            if watched is None:
                return empty_watch_stream(claims.sid, joining=payload.last_event_id is None)
            return watch_stream(watched, payload, settings.heartbeat_seconds)
        if isinstance(payload, EditPayload | UndoPayload | RedoPayload):
            changed = await self._open(claims, create=True)
            assert changed is not None
            return await self._change.open(changed, payload)
        if isinstance(payload, StopPayload):
            stopped = self._local(claims)
            if stopped is None:
                await asyncio.to_thread(writer.check_stored_identity, claims)
            controls = stop_now(stopped)
            await asyncio.to_thread(writer.request_stop, claims.sid)  # a turn on another runtime sees it
            canvas = (
                stopped.canvas
                if stopped is not None
                else await asyncio.to_thread(writer.stored_canvas, claims.sid)
            )
            if stopped is None and canvas is not None and canvas.phase == Phase.BUILDING:
                # Stored mid-build and not running here: settle that build as stopped (a crash
                # cut it short; or it runs elsewhere, and the stored flag stops it there).
                settled = await asyncio.to_thread(keeper.open, claims, create=False, recovery="stop")
                canvas = settled.canvas if settled is not None else canvas
            return stop_stream(claims.sid, stopped, controls, settings.stop_wait_seconds, canvas=canvas)
        if isinstance(payload, ResetPayload):
            if self._local(claims) is None:
                await asyncio.to_thread(writer.check_stored_identity, claims)
            dropped = services.cache.delete(claims.sid)
            controls = reset_now(dropped)
            await asyncio.to_thread(writer.delete, claims.sid, dropped)
            return reset_stream(claims.sid, controls, settings.stop_wait_seconds)
        if isinstance(payload, SeedPayload):  # the web app's "Refine with the assistant"
            return seed_stream(await seed_session(services, claims, payload))
        return self._resume.open(await self._open(claims, create=False), payload)
