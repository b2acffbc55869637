"""Noticing a ``stop`` that reached another runtime: a throttled check of the stored stop flag.

A ``stop`` landing on a runtime that does not run the session's turn raises the stored flag
(:meth:`SessionStore.set_stop`). The runtime running the turn checks it through
:class:`RemoteStop` — from the stop-check hook between model and tool calls, and from a small
poller while a model call streams — at most once per ``interval`` seconds, and cancels the run
with reason ``stop``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from agent_runtime.session.control import RunControl
from agent_runtime.session.store import SessionStore

__all__ = ["RemoteStop", "poll_remote_stop"]

logger = logging.getLogger(__name__)


class RemoteStop:
    """Checks one session's stored stop flag for one run; thread-safe and throttled."""

    def __init__(self, store: SessionStore, session_id: str, control: RunControl, interval: float) -> None:
        """Watch ``session_id``'s flag for ``control``."""
        self._store = store
        self._sid = session_id
        self._control = control
        self._interval = interval
        self._lock = threading.Lock()
        self._last = float("-inf")

    def __call__(self) -> bool:
        """Whether the run is stopped (checking the store if the last check is old enough)."""
        if self._control.cancelled:
            return True
        now = time.monotonic()
        with self._lock:
            if now - self._last < self._interval:
                return False
            self._last = now
        try:
            flagged = self._store.stop_requested(self._sid)
        except Exception as exc:  # a flaky store must not fail the run
            logger.warning("session_id=<%s>, error=<%s> | could not read the stop flag", self._sid, exc)
            return False
        if flagged:
            logger.info(
                "session_id=<%s>, run_id=<%s> | stop from another runtime", self._sid, self._control.run_id
            )
            self._control.cancel("stop")
        return flagged


async def poll_remote_stop(probe: RemoteStop, control: RunControl, interval: float) -> None:
    """Check ``probe`` every ``interval`` seconds until the run ends or is cancelled."""
    while not control.cancelled and not control.done.is_set():
        await asyncio.sleep(interval)
        if await asyncio.to_thread(probe):
            return
