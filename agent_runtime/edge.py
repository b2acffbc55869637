"""The runtime's edge: what reaches ``POST /invocations`` before the AgentCore SDK parses it.

An ASGI middleware in front of the SDK's handler that

* refuses a declared ``Content-Length`` over :attr:`~agent_runtime.contract.Limits.MAX_INVOCATION_BYTES`
  without reading a byte of the body;
* reads any other body (a chunked one included) only up to that limit, and refuses it as soon as
  it grows past it — so nothing larger is ever held in memory, let alone parsed;
* checks the token before parsing a large body (over :data:`PARSE_WITHOUT_TOKEN_BYTES`): the
  body must carry a ``"token"`` member whose value verifies (found with one bounded regular
  expression over the raw bytes: in JSON an unescaped ``"token":`` can only be a member name).
  The full parse that follows checks the top-level token again, as before;
* parses it under the contract's rules (:func:`~agent_runtime.contract.loads_json`): nesting
  deeper than ``MAX_JSON_DEPTH`` and text holding a NUL or an unpaired surrogate are refused
  before the SDK's own parser sees them. Plainly malformed JSON is left to the SDK (HTTP 400).

Refusals are what every other refusal of the runtime is (``agent_runtime.actions._refusal``):
HTTP 200 with a single ``RUN_ERROR`` frame whose ``code`` says why.

:func:`loopback_only` guards the internal ``/_runtime/stats`` page.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from agent_runtime.contract import ErrorCode, Limits, PayloadError, TokenCodec, TokenError, loads_json
from agent_runtime.events import factory
from agent_runtime.events.sse import MEDIA_TYPE, STREAM_HEADERS, frame

__all__ = ["InvocationGuard", "is_loopback"]

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

INVOCATIONS_PATH = "/invocations"
PARSE_WITHOUT_TOKEN_BYTES = 64 * 1024
"""Bodies up to this size are parsed before the token is checked; larger ones need a valid token."""
_TOKEN_MEMBER = re.compile(rb'"token"\s*:\s*"([A-Za-z0-9_.\-]{1,%d})"' % Limits.MAX_TOKEN_CHARS)


def is_loopback(host: str | None) -> bool:
    """Whether a peer address is a loopback address (``127.0.0.0/8``, ``::1``)."""
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class InvocationGuard:
    """Caps, reads and checks an invocation body before the SDK handles it."""

    def __init__(
        self, app: ASGIApp, *, codec: TokenCodec | None = None, limit: int = Limits.MAX_INVOCATION_BYTES
    ) -> None:
        """Wrap ``app``; bodies over ``limit`` bytes are refused, large ones need a ``codec``-valid token."""
        self.app = app
        self.codec = codec
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if (
            scope.get("type") != "http"
            or scope.get("path") != INVOCATIONS_PATH
            or scope.get("method") != "POST"
        ):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(
                send, ErrorCode.PAYLOAD_TOO_LARGE, f"the request is larger than {self.limit} bytes"
            )
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message.get("type") == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.limit:
                await self._refuse(
                    send, ErrorCode.PAYLOAD_TOO_LARGE, f"the request is larger than {self.limit} bytes"
                )
                return
            more = bool(message.get("more_body", False))
        data = bytes(body)
        if len(data) > PARSE_WITHOUT_TOKEN_BYTES and self.codec is not None:
            refused = self._token_problem(data)
            if refused is not None:
                await self._refuse(send, refused[0], refused[1])
                return
        try:
            loads_json(data)
        except PayloadError as exc:
            if not exc.message.startswith("the body is not valid JSON"):
                await self._refuse(send, exc.code, exc.message)
                return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": data, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _token_problem(self, data: bytes) -> tuple[ErrorCode, str] | None:
        """``(code, message)`` unless some ``"token"`` member of the raw body verifies."""
        assert self.codec is not None
        found = False
        for match in _TOKEN_MEMBER.finditer(data):
            found = True
            try:
                self.codec.verify(match.group(1).decode("ascii"))
            except TokenError:
                continue
            return None
        if not found:
            return ErrorCode.TOKEN_MISSING, "the payload has no token"
        return ErrorCode.TOKEN_INVALID, "session token is invalid"

    @staticmethod
    async def _refuse(send: Send, code: ErrorCode, message: str) -> None:
        logger.info("code=<%s> | invocation refused at the edge", code)
        body = frame(0, factory.run_error(code, message))
        headers = [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in STREAM_HEADERS.items()]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
