"""Retrying a throttled model call: Strands' own retry hook, with jitter, a stop-aware wait and a notice.

Strands retries a model call that raised ``ModelThrottledException`` through its
``ModelRetryStrategy`` hook (``AfterModelCallEvent.retry``). :class:`ModelRetry` keeps that
mechanism — the one retry layer for model calls; botocore's own retries are turned off for
Bedrock Runtime in the model factory, so attempts never multiply — and changes three things:

* **jitter**: the wait is ``base/2 + uniform(0, base/2)`` with ``base = initial · 2^attempt``
  capped at ``max_delay`` ("equal jitter"), so sessions throttled together do not retry together;
* **stop-aware wait**: the wait ends as soon as the agent's cancel signal is set (stop, budget,
  client gone), and then the call is *not* retried — the turn ends at once with its canvas intact;
* **notice before the wait**: :attr:`on_retry` is called with Strands' own
  ``{"event_loop_throttled_delay": seconds}`` event before sleeping, so the page learns right away
  that the text it saw from the failed attempt is withdrawn. (Strands yields that event only
  after the sleep; this strategy does not set it, so the notice is given exactly once.)

Adapter note: this subclasses Strands' retry strategy and overrides its after-model-call
callback; ``tests/unit/agent_runtime/test_model_retry.py`` pins the behaviour to the installed
``strands-agents``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

from strands.event_loop._retry import ModelRetryStrategy
from strands.hooks.events import AfterModelCallEvent

__all__ = ["ModelRetry", "RetryNotice"]

logger = logging.getLogger(__name__)

RetryNotice = Callable[[dict[str, Any]], None]
_SLICE_S = 0.02


class ModelRetry(ModelRetryStrategy):
    """Throttling retries with equal jitter, a cancellable wait and a notice hook."""

    def __init__(
        self,
        *,
        max_attempts: int = 4,
        initial_delay: float = 2.0,
        max_delay: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        """Create the strategy.

        Args:
            max_attempts: Model attempts in all (the first call plus retries).
            initial_delay: Base wait in seconds before the first retry; doubles per retry.
            max_delay: Cap on the base wait.
            rng: Random source for the jitter (tests pass a seeded one).
        """
        super().__init__(max_attempts=max_attempts, initial_delay=1, max_delay=1)
        self.initial_delay = float(initial_delay)
        self.max_delay = float(max_delay)
        self._rng = rng or random.Random()
        self.on_retry: RetryNotice | None = None
        """Called with ``{"event_loop_throttled_delay": seconds, "attempt": n}`` before each wait."""

    def delay_for(self, attempt: int) -> float:
        """The wait before retry number ``attempt + 1`` (``attempt`` counts from 0)."""
        base = min(self.max_delay, self.initial_delay * (2**attempt))
        return base / 2 + self._rng.uniform(0, base / 2)

    async def _handle_after_model_call(self, event: AfterModelCallEvent) -> None:
        self._backwards_compatible_event_to_yield = None
        if event.retry:
            return
        if event.stop_response is not None or event.exception is None:
            self._reset_retry_state()
            return
        if not self.is_retryable(event.exception):
            return
        cancel = event.agent.cancel_signal
        if cancel.is_set():
            return
        delay = self.delay_for(self._current_attempt)
        self._current_attempt += 1
        if self._current_attempt >= self._max_attempts:
            logger.warning("attempts=<%d> | model still throttled, giving up", self._current_attempt)
            return
        logger.info(
            "attempt=<%d>, max_attempts=<%d>, delay_seconds=<%.2f> | model throttled, retrying",
            self._current_attempt,
            self._max_attempts,
            delay,
        )
        notice = self.on_retry
        if notice is not None:
            notice({"event_loop_throttled_delay": delay, "attempt": self._current_attempt})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        while (remaining := deadline - loop.time()) > 0:
            if cancel.is_set():
                logger.info("model retry abandoned: the run was cancelled while waiting")
                return
            await asyncio.sleep(min(_SLICE_S, remaining))
        if cancel.is_set():
            return
        event.retry = True
