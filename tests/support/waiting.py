"""``wait_until``: the one bounded poll the tests use where there is no event to wait on.

A test waits on an event or barrier where the code under test offers one; this is for what only
shows from outside (a row in a database, a process answering on its port, a flag another process
sets). The test's order never depends on how long the wait takes: the condition is the order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    check: Callable[[], T],
    what: str,
    *,
    timeout: float = 10.0,
    interval: float = 0.01,
    detail: Callable[[], str] | None = None,
) -> T:
    """Call ``check`` until it returns something truthy, and return that; fail after ``timeout`` s.

    ``check`` may raise to end the wait at once (a process that exited will never answer).

    Raises:
        AssertionError: ``timeout`` passed; the message names ``what`` (and ``detail()``, if given).
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            message = f"timed out after {timeout:g} s waiting until {what}"
            raise AssertionError(f"{message}:\n{detail()}" if detail else message)
        time.sleep(interval)
