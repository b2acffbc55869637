"""Strands' MCP client, as the pool starts it (imported only when a tool server first starts).

The MCP SDK is a third of the runtime's import time, so :mod:`.pool` imports this module, and the
SDK with it, on first use: a runtime whose agents list no ``mcp_servers`` never loads it.
"""

from __future__ import annotations

from concurrent import futures
from types import TracebackType

from strands.tools.mcp import MCPClient

__all__ = ["Client"]


class Client(MCPClient):
    """Strands' MCP client with one fix: its ``stop()`` after a connection that never came up.

    When the connection fails, ``start()`` calls ``stop()`` while the background thread is ending;
    strands 1.62 then schedules a close coroutine on that thread's finished event loop, where it
    never runs ("coroutine … was never awaited"). Here the ended thread is joined and its loop
    closed first, so there is nothing left to schedule. Pinned by the tests of a server that
    cannot start (stdio and HTTP).
    """

    def stop(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        """Stop; after a failed start, without scheduling onto the finished loop."""
        thread, loop = self._background_thread, self._background_thread_event_loop
        if thread is not None and loop is not None and _failed(self._init_future):
            thread.join()  # it is returning: the connection never came up
            self._background_thread_event_loop = None
            if not loop.is_closed():
                loop.close()
        super().stop(exc_type, exc_val, exc_tb)


def _failed(future: futures.Future[None]) -> bool:
    if not future.done():
        return False
    try:
        return future.exception(timeout=0) is not None
    except futures.CancelledError:
        return True
