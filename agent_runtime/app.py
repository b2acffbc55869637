"""The AgentCore application: ``POST /invocations`` and ``GET /ping`` (plus a local stats page).

The entrypoint is async, so the SDK runs it on its worker loop; it authenticates the invocation,
starts the work there, and returns a Starlette ``StreamingResponse`` that the SDK passes through
untouched — the runtime owns its SSE framing. The response body is iterated on uvicorn's loop,
so ``/ping`` stays responsive however busy the agents are.

``GET /_runtime/stats`` (answers loopback peers only; AgentCore routes nothing but
``/invocations`` and ``/ping``) reports sessions, builders working and async tasks, for tests and
benchmarks.

Every invocation body passes :class:`~agent_runtime.edge.InvocationGuard` first: capped while it
is read (chunked bodies too), parsed under the contract's depth and text rules, before the SDK.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from bedrock_agentcore.runtime import BedrockAgentCoreApp
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse

from agent_runtime.config import Settings
from agent_runtime.dispatcher import Dispatcher
from agent_runtime.edge import InvocationGuard, is_loopback
from agent_runtime.events.sse import MEDIA_TYPE, STREAM_HEADERS
from agent_runtime.services import ModelSource, Services, build_services

__all__ = ["create_app"]

logger = logging.getLogger(__name__)


def create_app(settings: Settings, *, models: ModelSource | None = None) -> BedrockAgentCoreApp:
    """Build the application (no agent is created until a session needs one).

    Args:
        settings: Validated settings.
        models: Model source override (tests); defaults to the configured factory.

    Raises:
        ConfigError: The agents file or the model provider is unusable.
    """

    @contextlib.asynccontextmanager
    async def lifespan(running: BedrockAgentCoreApp) -> AsyncIterator[None]:
        yield
        shutdown(running.state.services)

    app = BedrockAgentCoreApp(lifespan=lifespan)
    services = build_services(settings, tracker=app, models=models)
    app.state.services = services
    dispatcher = Dispatcher(services)

    @app.entrypoint
    async def invoke(payload: Any, context: Any) -> StreamingResponse:
        request = getattr(context, "request", None)
        length = request.headers.get("content-length") if request is not None else None
        body = await dispatcher.dispatch(
            payload,
            getattr(context, "session_id", None),
            int(length) if length and length.isdigit() else None,
        )
        return StreamingResponse(body, media_type=MEDIA_TYPE, headers=STREAM_HEADERS)

    async def stats(request: Request) -> JSONResponse:
        if not is_loopback(request.client.host if request.client else None):
            return JSONResponse({"error": {"code": "NOT_FOUND", "message": "not found"}}, status_code=404)
        return JSONResponse(
            {
                "sessions": len(services.cache),
                "builders_working": services.builds.active_builders,
                "max_builders_seen": services.builds.max_active_seen,
                "async_tasks": app.get_async_task_info()["active_count"],
                "mcp_servers_running": services.mcp.running_count(),
                "ping": app.get_current_ping_status().value,
            }
        )

    app.add_route("/_runtime/stats", stats, methods=["GET"])
    app.add_middleware(InvocationGuard, codec=services.codec)
    return app


def shutdown(services: Services) -> None:
    """Cancel every session's runs, stop the builders and the MCP servers (shutting down)."""
    for entry in services.cache.entries():
        entry.cancel_all("shutdown")
    services.close()
