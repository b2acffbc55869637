"""The tests' one bounded poll: it returns what the condition found, fails naming what it waited
for (with the detail asked for), and lets a condition end the wait at once by raising."""

from __future__ import annotations

import itertools

import pytest

from tests.support.waiting import wait_until


def test_returns_the_first_truthy_result() -> None:
    calls = itertools.count(1)
    assert wait_until(lambda: next(calls) >= 3 and "ready", "the third call", interval=0) == "ready"


def test_fails_after_the_timeout_naming_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match=r"waiting until the row exists:\nlast log line"):
        wait_until(lambda: None, "the row exists", timeout=0, detail=lambda: "last log line")


def test_a_condition_that_raises_ends_the_wait() -> None:
    def exited() -> bool:
        raise RuntimeError("the process exited")

    with pytest.raises(RuntimeError, match="exited"):
        wait_until(exited, "the process answers", timeout=60)
