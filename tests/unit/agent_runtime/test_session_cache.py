"""AgentSessionCache: identity lock, LRU capacity, idle expiry, busy entries never evicted."""

from __future__ import annotations

import pytest

from agent_runtime.contract import ErrorCode
from agent_runtime.errors import RequestRefused
from agent_runtime.session.cache import AgentSessionCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _cache(capacity: int = 3, idle: float = 60.0) -> tuple[AgentSessionCache, Clock]:
    clock = Clock()
    return AgentSessionCache(capacity=capacity, idle_seconds=idle, event_log_size=32, clock=clock), clock


def _get(cache: AgentSessionCache, sid: str, uid: int = 1, vid: int = 1):  # type: ignore[no-untyped-def]
    return cache.get_or_create(sid, user_id=uid, vendor_id=vid, agent_type="copilot")


def test_same_entry_for_the_same_session_and_identity_is_locked() -> None:
    cache, _ = _cache()
    entry = _get(cache, "a")
    assert _get(cache, "a") is entry
    with pytest.raises(RequestRefused) as refused:
        _get(cache, "a", uid=2)
    assert refused.value.code == ErrorCode.IDENTITY_MISMATCH
    with pytest.raises(RequestRefused):
        _get(cache, "a", vid=2)
    assert _get(cache, "a") is entry


def test_least_recently_used_entry_is_evicted_past_capacity() -> None:
    cache, clock = _cache(capacity=2)
    _get(cache, "a")
    clock.now += 1
    _get(cache, "b")
    clock.now += 1
    _get(cache, "a")  # a is now the most recent
    clock.now += 1
    _get(cache, "c")
    assert "a" in cache and "c" in cache and "b" not in cache
    assert len(cache) == 2


def test_busy_entries_are_never_evicted() -> None:
    cache, clock = _cache(capacity=1)
    busy = _get(cache, "a")
    control = busy.begin_turn("run_1")
    clock.now += 1
    _get(cache, "b")
    assert "a" in cache and "b" in cache  # over capacity rather than dropping a running turn
    busy.end_turn(control)
    assert control.done.is_set()
    clock.now += 1
    _get(cache, "c")
    assert "a" not in cache and "c" in cache


def test_idle_entries_expire_unless_busy() -> None:
    cache, clock = _cache(idle=60)
    _get(cache, "idle")
    running = _get(cache, "running")
    running.begin_turn("run_1")
    clock.now += 61
    _get(cache, "fresh")
    assert "idle" not in cache
    assert "running" in cache and "fresh" in cache


def test_a_touched_entry_does_not_expire() -> None:
    cache, clock = _cache(idle=60)
    entry = _get(cache, "a")
    clock.now += 50
    cache.touch(entry)
    clock.now += 50
    cache.sweep()
    assert "a" in cache
    clock.now += 11
    cache.sweep()
    assert "a" not in cache


def test_one_turn_at_a_time() -> None:
    cache, _ = _cache()
    entry = _get(cache, "a")
    control = entry.begin_turn("run_1")
    with pytest.raises(RequestRefused) as refused:
        entry.begin_turn("run_2")
    assert refused.value.code == ErrorCode.SESSION_BUSY
    entry.end_turn(control)
    entry.end_turn(entry.begin_turn("run_3"))


def test_what_waits_for_a_turn_runs_once_it_has_ended_after_the_session_is_free() -> None:
    """A build that beats its turn ends through ``after_finish`` (agent_runtime.agents.builder)."""
    cache, _ = _cache()
    entry = _get(cache, "a")
    control = entry.begin_turn("run_1")
    seen: list[tuple[str, bool, bool]] = []

    def broken() -> None:
        raise RuntimeError("one waiter fails")

    assert control.after_finish(lambda: seen.append(("first", control.done.is_set(), entry.turn is None)))
    assert control.after_finish(broken)
    assert control.after_finish(lambda: seen.append(("second", control.done.is_set(), entry.turn is None)))
    assert seen == []
    entry.end_turn(control)
    assert seen == [("first", True, True), ("second", True, True)]  # in order; a failing one is skipped
    assert not control.after_finish(lambda: seen.append(("late", True, True)))  # already ended: not kept
    control.finish()
    assert len(seen) == 2


def test_cancel_all_cancels_the_running_turn() -> None:
    cache, _ = _cache()
    entry = _get(cache, "a")

    class Agent:
        cancelled = 0

        def cancel(self) -> None:
            self.cancelled += 1

    agent = Agent()
    control = entry.begin_turn("run_1")
    control.attach(agent)
    assert entry.cancel_all("stop") == [control]
    assert control.reason == "stop" and control.cancel_event.is_set() and agent.cancelled == 1
    late = Agent()
    control.attach(late)  # an agent attached after the stop is cancelled at once
    assert late.cancelled == 1
    assert cache.delete("a") is entry and "a" not in cache
