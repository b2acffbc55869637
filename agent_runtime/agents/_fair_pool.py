"""A thread pool that shares its workers fairly between sessions.

The module builders of every session run on one process-wide pool of ``BUILDER_WORKERS`` threads.
With a plain first-come-first-served queue a one-module build waits until every module of a
20-module build queued before it has started. :class:`FairPool` keeps one FIFO queue per key (the
session id) and, whenever a worker is free, starts the next task of the key that has the
**fewest tasks running** — ties go to the key served least recently (round-robin). So a session
that has nothing running takes the next free worker, sessions with backlogs share the workers
evenly (max-min fair share), and a session alone still uses every worker. Within one session,
tasks start in the order they were submitted.

``fair=False`` puts every task in one queue: plain FIFO (what a ``ThreadPoolExecutor`` does),
kept for comparison in the benchmark.

The standard library's executors have one shared queue and no per-key scheduling, so the
scheduling lives here; running a task, thread naming and shutdown mirror
``ThreadPoolExecutor``.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Hashable

__all__ = ["FairPool"]

logger = logging.getLogger(__name__)

_ONE_QUEUE = "fifo"


class FairPool:
    """``workers`` threads running submitted callables, fairly across keys."""

    def __init__(self, workers: int, *, fair: bool = True, thread_name_prefix: str = "fair-pool") -> None:
        """Create the pool (threads start with the first submissions).

        Args:
            workers: Tasks running at once.
            fair: Share workers between keys (``False``: one FIFO queue for everything).
            thread_name_prefix: Worker thread names.
        """
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self.fair = fair
        self._prefix = thread_name_prefix
        self._cond = threading.Condition()
        self._queues: dict[Hashable, deque[Callable[[], None]]] = {}
        self._running: dict[Hashable, int] = {}
        self._last_served: dict[Hashable, int] = {}
        self._tick = itertools.count()
        self._threads: list[threading.Thread] = []
        self._shutdown = False

    def submit(self, key: Hashable, task: Callable[[], None]) -> None:
        """Queue ``task`` under ``key`` (a session id).

        Raises:
            RuntimeError: The pool has been shut down.
        """
        key = key if self.fair else _ONE_QUEUE
        with self._cond:
            if self._shutdown:
                raise RuntimeError("cannot submit to a pool that has been shut down")
            queue = self._queues.get(key)
            if queue is None:
                queue = self._queues[key] = deque()
                self._last_served.setdefault(key, -1)
            queue.append(task)
            if len(self._threads) < self.workers:
                thread = threading.Thread(
                    target=self._work, name=f"{self._prefix}_{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            else:
                self._cond.notify()

    def pending(self) -> int:
        """Tasks queued and not started."""
        with self._cond:
            return sum(len(queue) for queue in self._queues.values())

    def shutdown(self, *, wait: bool = True, cancel_pending: bool = True) -> None:
        """Accept no more tasks; drop the queued ones (``cancel_pending``); wait for running ones."""
        with self._cond:
            self._shutdown = True
            if cancel_pending:
                self._queues.clear()
            self._cond.notify_all()
            threads = list(self._threads)
        if wait:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()

    # ------------------------------------------------------------------ workers

    def _take(self) -> tuple[Hashable, Callable[[], None]]:
        """The next task: the key with fewest running, then least recently served (under the lock)."""
        key = min(self._queues, key=lambda k: (self._running.get(k, 0), self._last_served[k]))
        queue = self._queues[key]
        task = queue.popleft()
        if not queue:
            del self._queues[key]
        self._running[key] = self._running.get(key, 0) + 1
        self._last_served[key] = next(self._tick)
        return key, task

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queues and not self._shutdown:
                    self._cond.wait()
                if not self._queues:
                    return
                key, task = self._take()
            try:
                task()
            except BaseException:  # a task's failure must not kill the worker
                logger.exception("key=<%s> | pool task failed", key)
            finally:
                with self._cond:
                    left = self._running[key] - 1
                    if left:
                        self._running[key] = left
                    else:
                        del self._running[key]
                        if key not in self._queues:
                            self._last_served.pop(key, None)
