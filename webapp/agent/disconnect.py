"""Notices browsers that went away while their stream is silent.

A WSGI server only learns that a client left when a write fails, and a runtime may be silent for
15 s between heartbeats. One monitor thread polls every open stream's client socket for a hang-up
(``POLLRDHUP``/``POLLHUP``) a few times a second and aborts that stream's upstream, so the runtime
connection closes within the poll interval instead of at the next write.
"""

from __future__ import annotations

import itertools
import logging
import select
import threading
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

_HANGUP = getattr(select, "POLLRDHUP", 0x2000) | select.POLLHUP | select.POLLERR | select.POLLNVAL


def _original(module: str, name: str) -> Any:
    """The unpatched ``select.poll`` when gevent has monkey-patched ``select``."""
    try:
        from gevent import monkey

        if monkey.is_module_patched(module):
            return monkey.get_original(module, name)
    except ImportError:
        pass
    return getattr(__import__(module), name)


def client_socket(environ: dict[str, Any]) -> Any:
    """The client's socket as gunicorn or werkzeug expose it (None under a test client)."""
    return environ.get("gunicorn.socket") or environ.get("werkzeug.socket")


class DisconnectMonitor:
    """Polls registered client sockets; calls a stream's callback once when its client hangs up."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self._watched: dict[int, tuple[int, Callable[[], None]]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, sock: Any, on_hangup: Callable[[], None]) -> int | None:
        """Start watching ``sock``; returns a handle for :meth:`unwatch` (None if not watchable)."""
        try:
            fd = sock.fileno()
        except (AttributeError, OSError):
            return None
        if fd < 0:
            return None
        handle = next(self._ids)
        with self._lock:
            self._watched[handle] = (fd, on_hangup)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="disconnect-monitor", daemon=True)
                self._thread.start()
        return handle

    def unwatch(self, handle: int | None) -> None:
        """Stop watching (idempotent)."""
        if handle is not None:
            with self._lock:
                self._watched.pop(handle, None)

    def _run(self) -> None:
        poll_factory = _original("select", "poll")
        while True:
            time.sleep(self.interval)
            with self._lock:
                items = list(self._watched.items())
            if not items:
                continue
            poller = poll_factory()
            by_fd: dict[int, list[int]] = {}
            for handle, (fd, _cb) in items:
                by_fd.setdefault(fd, []).append(handle)
                poller.register(fd, _HANGUP)
            try:
                events = poller.poll(0)
            except OSError:
                logger.debug("disconnect poll failed", exc_info=True)
                continue
            for fd, mask in events:
                if not mask & _HANGUP:
                    continue
                for handle in by_fd.get(fd, []):
                    with self._lock:
                        entry = self._watched.pop(handle, None)
                    if entry is not None:
                        try:
                            entry[1]()
                        except Exception:  # noqa: BLE001 - one bad callback must not stop the monitor
                            logger.exception("disconnect callback failed")


monitor = DisconnectMonitor()
