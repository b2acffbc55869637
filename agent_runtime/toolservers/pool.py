"""Starting MCP servers just in time, sharing them across sessions, closing them on shutdown.

:meth:`McpPool.attach` is called when an agent that lists servers is about to run. Each server
is one Strands :class:`~strands.tools.mcp.MCPClient` — a stdio child process or a streamable-HTTP
connection — started on first use and kept for every later session that may share it: one per
server, or, for a ``vendor_env`` server, one per (server, vendor). A client whose connection died
is started again on next use; one that failed to start is tried again after
:data:`RETRY_AFTER_SECONDS` (until then the turns that need it fail fast with the same reason).
:meth:`McpPool.close` stops them all (runtime shutdown).

A server that cannot start raises :class:`ToolServerUnavailable` (``RUN_ERROR``
``TOOL_SERVER_UNAVAILABLE``) unless it is ``optional``: then the agent runs without its tools and
:attr:`Attached.notes` says so.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from opentelemetry import trace as trace_api
from strands.types.tools import AgentTool

from agent_runtime.contract import ErrorCode
from agent_runtime.errors import ConfigError, RunFault
from agent_runtime.toolservers.config import McpServerSpec, interpolate

if TYPE_CHECKING:
    from strands.tools.mcp import MCPClient

__all__ = ["Attached", "McpPool", "ToolServerUnavailable"]

logger = logging.getLogger(__name__)

_Key = tuple[str, int | None]
RETRY_AFTER_SECONDS = 30.0
"""A server that failed to start is not tried again for this long (each turn fails fast meanwhile)."""


class ToolServerUnavailable(RunFault):
    """A required MCP server could not be started or reached."""

    code = ErrorCode.TOOL_SERVER_UNAVAILABLE


@dataclass
class Attached:
    """What an agent gets from its servers.

    Attributes:
        tools: ``(server name, tool)`` for every allowed tool of every server that started.
        notes: One sentence per optional server that could not start ("… working without it").
    """

    tools: list[tuple[str, AgentTool]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Running:
    client: MCPClient
    tools: list[AgentTool]


# Starting a client makes the MCP SDK trace its handshake on the client's own thread, outside any
# agent's trace: those would be stray root traces with no session. Under an unsampled parent the
# default (parent-based) sampler drops them; tool calls later run in the calling agent's context.
_UNSAMPLED = trace_api.NonRecordingSpan(
    trace_api.SpanContext(
        trace_id=0x1,
        span_id=0x1,
        is_remote=False,
        trace_flags=trace_api.TraceFlags(trace_api.TraceFlags.DEFAULT),
    )
)


def _alive(client: MCPClient) -> bool:
    # Strands keeps no public "connected" flag; this private check is pinned by the restart test
    # (tests/integration/test_mcp_transports.py).
    return bool(client._is_session_active())


class McpPool:
    """The runtime's MCP clients."""

    def __init__(
        self,
        specs: Mapping[str, McpServerSpec],
        environ: Mapping[str, str],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Bind the declared servers and the environment their values are resolved from (no I/O).

        ``clock`` times the retry pause after a server failed to start (tests pass a fake one).
        """
        self._specs = dict(specs)
        self._environ = dict(environ)
        self._running: dict[_Key, _Running] = {}
        self._locks: dict[_Key, threading.Lock] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._failures: dict[_Key, tuple[float, str]] = {}
        self._clock = clock

    @property
    def names(self) -> list[str]:
        """Declared server names."""
        return list(self._specs)

    def check(self) -> None:
        """Resolve every server's values now, so a missing variable fails at start-up.

        Raises:
            ConfigError: A ``${NAME}`` without a default is not set.
        """
        for spec in self._specs.values():
            try:
                for value in (
                    spec.command,
                    spec.url,
                    spec.cwd,
                    *spec.args,
                    *spec.env.values(),
                    *spec.headers.values(),
                ):
                    if value:
                        self._value(value)
            except KeyError as exc:
                raise ConfigError(
                    f"mcp server {spec.name!r}: environment variable {exc.args[0]} is not set"
                ) from None

    def running_count(self) -> int:
        """Clients connected now (for stats and tests)."""
        with self._lock:
            return sum(1 for r in self._running.values() if _alive(r.client))

    def ready(self, names: Sequence[str], vendor_id: int) -> Attached | None:
        """The servers' tools when every one is already connected (no I/O), else ``None``.

        Lets a turn skip the thread hop of :meth:`attach` once its servers are up.
        """
        attached = Attached()
        with self._lock:
            for name in names:
                spec = self._specs[name]
                running = self._running.get((name, vendor_id if spec.vendor_env else None))
                if running is None or not _alive(running.client):
                    return None
                attached.tools.extend((name, tool) for tool in running.tools)
        return attached

    def attach(self, names: Sequence[str], vendor_id: int) -> Attached:
        """Start (or reuse) the servers ``names`` for a session of ``vendor_id``. Blocking.

        Raises:
            ToolServerUnavailable: A required server could not start.
        """
        attached = Attached()
        for name in names:
            spec = self._specs[name]
            try:
                tools = self._tools(spec, vendor_id)
            except ToolServerUnavailable as exc:
                if not spec.optional:
                    raise
                logger.warning("server=<%s>, error=<%s> | optional mcp server unavailable", name, exc.message)
                attached.notes.append(
                    f"The {name.replace('_', ' ')} is unavailable right now, so I'm working without it."
                )
                continue
            attached.tools.extend((name, tool) for tool in tools)
        return attached

    def close(self) -> None:
        """Stop every client (idempotent)."""
        with self._lock:
            self._closed = True
            running, self._running = list(self._running.items()), {}
        for key, item in running:
            try:
                item.client.stop(None, None, None)
            except Exception:
                logger.exception("server=<%s> | could not stop the mcp client", key[0])
        logger.info("servers=<%d> | mcp clients stopped", len(running))

    # ------------------------------------------------------------------ internals

    def _tools(self, spec: McpServerSpec, vendor_id: int) -> list[AgentTool]:
        key: _Key = (spec.name, vendor_id if spec.vendor_env else None)
        with self._lock:
            if self._closed:
                raise ToolServerUnavailable(f"the {spec.name} server is shutting down")
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                running = self._running.get(key)
            if running is not None and _alive(running.client):
                return running.tools
            if running is not None:
                logger.warning("server=<%s>, vendor_id=<%s> | mcp connection lost; restarting", *key)
                try:
                    running.client.stop(None, None, None)
                except Exception:
                    logger.exception("server=<%s> | could not stop the dead mcp client", spec.name)
            with self._lock:
                failure = self._failures.get(key)
            if failure is not None and self._clock() < failure[0]:
                raise ToolServerUnavailable(failure[1])  # failed a moment ago: not again on every turn
            try:
                running = self._start(spec, vendor_id)
            except ToolServerUnavailable as exc:
                with self._lock:
                    self._failures[key] = (self._clock() + RETRY_AFTER_SECONDS, exc.message)
                raise
            with self._lock:
                self._failures.pop(key, None)
                if self._closed:
                    running.client.stop(None, None, None)
                    raise ToolServerUnavailable(f"the {spec.name} server is shutting down")
                self._running[key] = running
            return running.tools

    def _start(self, spec: McpServerSpec, vendor_id: int) -> _Running:
        if spec.command is not None:
            command = self._value(spec.command)
            if shutil.which(command) is None:  # the clearest message, and no doomed child process
                raise ToolServerUnavailable(
                    f"the {spec.name} tool server could not start: {command!r} is not an executable found "
                    "on PATH"
                )
        client = self._client(spec, vendor_id)
        try:
            with trace_api.use_span(_UNSAMPLED, end_on_exit=False):
                client.start()  # on failure it has cleaned up after itself
        except Exception as exc:
            raise ToolServerUnavailable(
                f"the {spec.name} tool server could not start: {_reason(exc)}"
            ) from exc
        try:
            with trace_api.use_span(_UNSAMPLED, end_on_exit=False):
                listed = client.list_tools_sync()
        except Exception as exc:
            try:
                client.stop(None, None, None)
            except Exception:
                logger.debug("server=<%s> | stop after a failed listing raised", spec.name, exc_info=True)
            raise ToolServerUnavailable(
                f"the {spec.name} tool server did not list its tools: {_reason(exc)}"
            ) from exc
        timeout = timedelta(seconds=spec.call_timeout_seconds)
        tools: list[AgentTool] = []
        for tool in listed:
            tool.timeout = timeout
            tools.append(tool)
        missing = sorted(set(spec.allowed_tools) - {t.tool_name for t in tools})
        if missing:
            logger.warning(
                "server=<%s>, missing=<%s> | allowed tools the server does not offer", spec.name, missing
            )
        logger.info(
            "server=<%s>, transport=<%s>, vendor_id=<%s>, tools=<%d> | mcp server started",
            spec.name,
            spec.transport,
            vendor_id if spec.vendor_env else "-",
            len(tools),
        )
        return _Running(client, tools)

    def _client(self, spec: McpServerSpec, vendor_id: int) -> MCPClient:
        # The MCP SDK is imported here, when a server first starts, not with the runtime: it is
        # about a third of the runtime's import time (0.7 s of CPU at each cold start: every new
        # AgentCore microVM), and a runtime whose agents list no server never needs it.
        from mcp import StdioServerParameters, stdio_client

        from agent_runtime.toolservers.client import Client

        filters: Any = {"allowed": list(spec.allowed_tools)} if spec.allowed_tools else None
        common: dict[str, Any] = {
            "startup_timeout": spec.startup_timeout_seconds,
            "tool_filters": filters,
            "application_name": "playbook-runtime",
        }
        try:
            if spec.url is not None:
                headers = {k: self._value(v) for k, v in spec.headers.items()}
                return Client(url=self._value(spec.url), headers=headers or None, **common)
            env = {k: self._value(v) for k, v in spec.env.items()}
            if spec.vendor_env:
                env[spec.vendor_env] = str(int(vendor_id))
            params = StdioServerParameters(
                command=self._value(spec.command or ""),
                args=[self._value(a) for a in spec.args],
                env=env,
                cwd=self._value(spec.cwd) if spec.cwd else None,
            )
        except KeyError as exc:
            raise ToolServerUnavailable(
                f"the {spec.name} server needs {exc.args[0]}, which is not set"
            ) from None
        transport: Any = lambda: stdio_client(params)  # noqa: E731  (MCPClient's types lag the mcp 2 SDK)
        return Client(transport, **common)

    def _value(self, value: str) -> str:
        return interpolate(value, self._environ)


def _reason(exc: BaseException) -> str:
    """The innermost cause, in a few words (e.g. the server closed the connection)."""
    seen: BaseException = exc
    while True:
        if isinstance(seen, BaseExceptionGroup) and seen.exceptions:
            seen = seen.exceptions[0]
        elif seen.__cause__ is not None:
            seen = seen.__cause__
        else:
            break
    text = str(seen) or type(seen).__name__
    return text if len(text) <= 200 else text[:199] + "…"
