"""MCP servers reached by streamable HTTP: one connection shared by every session and vendor, allowed
tools only, a per-call timeout, restart after the connection dies, closed on shutdown."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_runtime.toolservers import McpPool, McpServerSpec, ToolServerUnavailable
from tests.support.runtime_process import free_port

ROOT = Path(__file__).resolve().parents[2]


def _serve(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "support" / "echo_mcp_server.py"), str(port)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.1)  # waiting for a child process to bind its port (no event to wait on)
    proc.kill()
    raise AssertionError("the MCP server did not start")


@pytest.fixture
def http_server() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    proc = _serve(port)
    yield port, proc
    proc.kill()
    proc.wait(10)


def test_a_streamable_http_server_is_shared_and_filtered(
    http_server: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, _ = http_server
    spec = McpServerSpec(name="echo", url="http://127.0.0.1:${ECHO_PORT}/mcp", allowed_tools=("whoami",))
    pool = McpPool({"echo": spec}, {"ECHO_PORT": str(port)})
    try:
        first = pool.attach(["echo"], vendor_id=1)
        other = pool.attach(["echo"], vendor_id=2)
        assert [t.tool_name for _, t in first.tools] == ["whoami"]  # allowed_tools filters `echo` out
        assert [t for _, t in first.tools] == [t for _, t in other.tools]  # one connection for everyone
        assert pool.running_count() == 1
        tool = first.tools[0][1]
        one = tool.mcp_client.call_tool_sync("a", "whoami", {})
        two = tool.mcp_client.call_tool_sync("b", "whoami", {})
        assert (one["structuredContent"], two["structuredContent"]) == ({"calls": 1}, {"calls": 2})
    finally:
        pool.close()
    assert pool.running_count() == 0


def test_a_call_past_its_timeout_goes_back_to_the_model_as_an_error(
    http_server: tuple[int, subprocess.Popen[bytes]],
) -> None:
    import asyncio

    port, _ = http_server
    spec = McpServerSpec(name="echo", url=f"http://127.0.0.1:{port}/mcp", call_timeout_seconds=0.5)
    pool = McpPool({"echo": spec}, {})
    try:
        tool = next(t for _, t in pool.attach(["echo"], vendor_id=1).tools if t.tool_name == "slow")

        async def call(seconds: float) -> Any:
            events = [
                e
                async for e in tool.stream(
                    {"toolUseId": "t", "name": "slow", "input": {"seconds": seconds}}, {}
                )
            ]
            return events[-1]["tool_result"]

        assert asyncio.run(call(0.0))["status"] == "success"
        started = time.monotonic()
        late = asyncio.run(call(30.0))
        assert late["status"] == "error", late
        assert time.monotonic() - started < 15  # cut at the 0.5 s call timeout, not the 30 s answer
    finally:
        pool.close()


def test_an_unreachable_url_is_a_clear_failure_or_skipped_when_optional() -> None:
    port = free_port()  # nothing listens there
    required = McpServerSpec(name="echo", url=f"http://127.0.0.1:{port}/mcp", startup_timeout_seconds=5)
    pool = McpPool({"echo": required}, {})
    with pytest.raises(ToolServerUnavailable, match=r"^the echo tool server could not start: "):
        pool.attach(["echo"], vendor_id=1)
    optional = required.model_copy(update={"optional": True})
    attached = McpPool({"echo": optional}, {}).attach(["echo"], vendor_id=1)
    assert attached.tools == [] and attached.notes == [
        "The echo is unavailable right now, so I'm working without it."
    ]


def test_a_dead_connection_is_started_again_on_next_use() -> None:
    port = free_port()
    proc = _serve(port)
    spec = McpServerSpec(name="echo", url=f"http://127.0.0.1:{port}/mcp")
    pool = McpPool({"echo": spec}, {})
    try:
        before = pool.attach(["echo"], vendor_id=1).tools[0][1].mcp_client
        before.stop(None, None, None)  # the connection is gone
        after = pool.attach(["echo"], vendor_id=1).tools[0][1].mcp_client
        assert after is not before
        assert after.call_tool_sync("c", "echo", {"text": "hi"})["status"] == "success"
    finally:
        pool.close()
        proc.kill()
        proc.wait(10)


def test_a_stdio_server_that_exits_at_start_is_a_clear_failure() -> None:
    # The library refuses to serve without a vendor bound by the runtime (exit status 2).
    spec = McpServerSpec(
        name="playbook_library",
        command="${PYTHON}",
        args=("-m", "agent_runtime.library"),
        env={"PYTHONPATH": str(ROOT)},
        startup_timeout_seconds=60,
    )
    pool = McpPool({"playbook_library": spec}, {})
    with pytest.raises(ToolServerUnavailable) as raised:
        pool.attach(["playbook_library"], vendor_id=1)
    assert raised.value.code == "TOOL_SERVER_UNAVAILABLE"
    assert raised.value.message == "the playbook_library tool server could not start: Connection closed"
    assert pool.running_count() == 0
