"""A tiny MCP server for transport tests: ``python tests/support/echo_mcp_server.py PORT`` serves
streamable HTTP on 127.0.0.1:PORT with ``echo``, ``whoami`` (which counts its calls) and ``slow``."""

from __future__ import annotations

import sys

from mcp.server.mcpserver import MCPServer

server: MCPServer = MCPServer("echo", log_level="WARNING")
calls = {"n": 0}


@server.tool(description="Return the text.")
def echo(text: str) -> str:
    return text


@server.tool(description="How many calls this server process has answered.")
def whoami() -> dict[str, int]:
    calls["n"] += 1
    return {"calls": calls["n"]}


@server.tool(description="Answer after some seconds.")
async def slow(seconds: float) -> str:
    import anyio

    await anyio.sleep(seconds)
    return "late"


if __name__ == "__main__":
    server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
