"""``agentcore`` transport: boto3 ``bedrock-agentcore`` ``invoke_agent_runtime``, streamed unchanged.

``InvokeAgentRuntime`` is not idempotent, so botocore retries are off; the read timeout is longer
than the runtime's longest silence (a heartbeat comment every 15 s).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from agent_runtime.contract import ErrorCode

from .base import UpstreamBroken, UpstreamError, UpstreamRequest, shutdown_socket
from .botocore_stream import raw_socket, raw_stream

logger = logging.getLogger(__name__)

_CHUNK = 64 * 1024
_THROTTLED = {"ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException"}


class AgentCoreUpstream:
    """The ``response`` StreamingBody of ``invoke_agent_runtime``."""

    def __init__(self, body: Any) -> None:
        self._body = body
        # botocore's StreamingBody.read(n) blocks until n bytes arrive; read the urllib3 response
        # underneath as each HTTP chunk (or socket read) arrives, so nothing is held back.
        self._raw = raw_stream(body)
        self._sock = raw_socket(self._raw) if self._raw is not None else None

    def _chunks(self) -> Iterator[bytes]:
        raw = self._raw
        if raw is None:
            yield from self._body.iter_chunks(_CHUNK)
            return
        if getattr(raw, "chunked", False) and hasattr(raw, "read_chunked"):
            yield from raw.read_chunked(decode_content=False)
            return
        if hasattr(raw, "read1"):
            while chunk := raw.read1(_CHUNK):
                yield chunk
            return
        while chunk := raw.read(_CHUNK, decode_content=False):
            yield chunk

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._chunks()
        except Exception as exc:  # urllib3/botocore/socket errors all mean the stream broke
            raise UpstreamBroken(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        try:
            self._body.close()
        except Exception:  # noqa: BLE001
            logger.debug("agentcore body close failed", exc_info=True)

    def abort(self) -> None:
        shutdown_socket(self._sock)


class AgentCoreTransport:
    """Invokes an AgentCore runtime by ARN."""

    name = "agentcore"

    def __init__(
        self,
        *,
        runtime_arn: str,
        qualifier: str | None,
        region: str,
        endpoint_url: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_connections: int = 2000,
        client: Any = None,
    ) -> None:
        self.runtime_arn = runtime_arn
        self.qualifier = qualifier or None
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.session.Session().client(
                "bedrock-agentcore",
                region_name=region,
                endpoint_url=endpoint_url or None,
                config=Config(
                    retries={"total_max_attempts": 1, "mode": "standard"},
                    connect_timeout=connect_timeout,
                    read_timeout=read_timeout,
                    max_pool_connections=max_connections,
                    tcp_keepalive=True,
                ),
            )
        self._client = client

    def open(self, request: UpstreamRequest) -> AgentCoreUpstream:
        from botocore.exceptions import (
            ClientError,
            ConnectTimeoutError,
            EndpointConnectionError,
            ReadTimeoutError,
        )
        from botocore.exceptions import (
            ConnectionError as BotoConnectionError,
        )

        kwargs: dict[str, Any] = {
            "agentRuntimeArn": self.runtime_arn,
            "runtimeSessionId": request.session_id,
            "payload": request.payload,
            "contentType": "application/json",
            "accept": "text/event-stream",
        }
        if self.qualifier:
            kwargs["qualifier"] = self.qualifier
        if request.traceparent:
            kwargs["traceParent"] = request.traceparent
            if request.tracestate:
                kwargs["traceState"] = request.tracestate
        try:
            response = self._client.invoke_agent_runtime(**kwargs)
        except ClientError as exc:
            raise client_error(exc) from exc
        except (EndpointConnectionError, ConnectTimeoutError) as exc:
            raise UpstreamError(
                503, ErrorCode.RUNTIME_UNAVAILABLE, "the agent runtime is not reachable"
            ) from exc
        except ReadTimeoutError as exc:
            raise UpstreamError(
                504, ErrorCode.RUNTIME_TIMEOUT, "the agent runtime did not answer in time"
            ) from exc
        except BotoConnectionError as exc:
            raise UpstreamError(
                502, ErrorCode.UPSTREAM_FAILED, "the agent runtime connection failed"
            ) from exc
        return AgentCoreUpstream(response["response"])

    def ping(self) -> dict[str, Any]:
        # AgentCore has no data-plane ping; the service keeps the runtime healthy itself.
        return {"ok": None, "transport": self.name, "detail": "not checked through AgentCore"}

    def close(self) -> None:
        close = getattr(self._client, "close", None)
        if close is not None:
            close()


def client_error(exc: Any) -> UpstreamError:
    """Map a botocore ``ClientError`` to what the browser gets."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in _THROTTLED or status == 429:
        return UpstreamError(429, ErrorCode.TOO_MANY_REQUESTS, "the agent runtime is busy; try again shortly")
    if status == 503 or code == "ServiceUnavailableException":
        return UpstreamError(503, ErrorCode.RUNTIME_UNAVAILABLE, "the agent runtime is unavailable")
    if status == 504:
        return UpstreamError(504, ErrorCode.RUNTIME_TIMEOUT, "the agent runtime did not answer in time")
    logger.warning("code=<%s>, status=<%s> | agentcore refused the invocation", code, status)
    return UpstreamError(
        502, ErrorCode.UPSTREAM_FAILED, f"the agent runtime refused the request ({code or status})"
    )
