"""The runtime's edge: what reaches ``POST /invocations`` before the AgentCore SDK parses it.

An ASGI middleware in front of the SDK's handler that

* refuses a declared ``Content-Length`` over :attr:`~agent_runtime.contract.Limits.MAX_INVOCATION_BYTES`
  without reading a byte of the body;
* reads any other body (a chunked one included) only up to that limit, and refuses it as soon as
  it grows past it — so nothing larger is ever held in memory, let alone parsed, whether or not
  the caller has a token (the token is inside the body, so nothing bigger than the limit is
  parsed before it is checked);
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
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from agent_runtime.contract import ErrorCode, Limits, PayloadError, loads_json
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

    def __init__(self, app: ASGIApp, *, limit: int = Limits.MAX_INVOCATION_BYTES) -> None:
        """Wrap ``app``; bodies over ``limit`` bytes are refused."""
        self.app = app
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

    @staticmethod
    async def _refuse(send: Send, code: str, message: str) -> None:
        logger.info("code=<%s> | invocation refused at the edge", code)
        body = frame(0, factory.run_error(str(code), message))
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
