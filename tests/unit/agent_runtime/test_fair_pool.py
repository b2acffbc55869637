"""The builder pool shares its workers fairly between sessions (deterministic: tasks gated by Events).

A free worker goes to the session with the fewest tasks running (ties: the one served least
recently), so a one-module build never waits behind another session's twenty modules; a
session alone still uses every worker; within a session tasks start in submission order.
The same scenarios on the FIFO pool (``BUILDER_SCHEDULING=fifo``) show the head-of-line wait.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agent_runtime.agents._fair_pool import FairPool
from agent_runtime.agents.builder import BuildManager
from agent_runtime.agents.registry import BUILDER, load_registry
from agent_runtime.config import load_settings
from agent_runtime.models.scripted import ScriptedModel, Step
from agent_runtime.session.cache import AgentSessionCache, SessionEntry
from tests.unit.agent_runtime.conftest import SECRET

WAIT = 10.0


class Recorder:
    """Fake builders: each records its start, then waits for its own gate."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self._cond = threading.Condition()
        self.gates: dict[str, threading.Event] = {}
        self._all_open = False

    def gate(self, name: str) -> threading.Event:
        with self._cond:
            gate = self.gates.setdefault(name, threading.Event())
            if self._all_open:
                gate.set()
            return gate

    def task(self, name: str, *, gated: bool = True) -> Callable[[], None]:
        gate = self.gate(name)
        if not gated:
            gate.set()

        def run() -> None:
            self.record(name)
            assert gate.wait(WAIT), f"{name} was never released"

        return run

    def record(self, name: str) -> None:
        with self._cond:
            self.started.append(name)
            self._cond.notify_all()

    def wait_started(self, count: int) -> list[str]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.started) >= count, WAIT), self.started
            return list(self.started)

    def release(self, name: str) -> None:
        self.gate(name).set()

    def release_all(self) -> None:
        with self._cond:
            self._all_open = True
            gates = list(self.gates.values())
        for gate in gates:
            gate.set()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    recorder = Recorder()
    yield recorder
    recorder.release_all()  # never leave a worker blocked


def _pool(workers: int, *, fair: bool = True) -> Iterator[FairPool]:
    pool = FairPool(workers, fair=fair, thread_name_prefix="test-pool")
    yield pool
    pool.shutdown(wait=True)


@pytest.fixture
def three() -> Iterator[FairPool]:
    yield from _pool(3)


@pytest.fixture
def one() -> Iterator[FairPool]:
    yield from _pool(1)


def _large_then_small(pool: FairPool, recorder: Recorder) -> str:
    for n in range(20):
        pool.submit("large", recorder.task(f"large-{n}"))
    assert recorder.wait_started(3) == ["large-0", "large-1", "large-2"]
    pool.submit("small", recorder.task("small-0"))
    recorder.release("large-0")  # the first worker to come free
    return recorder.wait_started(4)[3]


def test_a_small_build_takes_the_next_free_worker_before_a_large_builds_backlog(
    three: FairPool, recorder: Recorder
) -> None:
    assert _large_then_small(three, recorder) == "small-0"
    assert three.pending() == 17


def test_first_come_first_served_makes_the_small_build_wait_behind_the_large_one(recorder: Recorder) -> None:
    for fifo in _pool(3, fair=False):
        assert _large_then_small(fifo, recorder) == "large-3"
        recorder.release_all()


def test_sessions_with_backlogs_take_turns_and_keep_their_own_order(
    one: FairPool, recorder: Recorder
) -> None:
    one.submit("blocker", recorder.task("blocker"))
    recorder.wait_started(1)  # the only worker is busy while everything else is queued
    for session, count in (("a", 3), ("b", 3), ("c", 1)):
        for n in range(count):
            one.submit(session, recorder.task(f"{session}{n}", gated=False))
    recorder.release("blocker")
    assert recorder.wait_started(8)[1:] == ["a0", "b0", "c0", "a1", "b1", "a2", "b2"]


def test_a_session_with_fewer_builders_running_goes_first(three: FairPool, recorder: Recorder) -> None:
    for count, (session, name) in enumerate((("a", "a0"), ("a", "a1"), ("b", "b0")), start=1):
        three.submit(session, recorder.task(name))
        recorder.wait_started(count)  # one at a time: b is the session served last
    for n in range(2, 4):
        three.submit("a", recorder.task(f"a{n}"))
    three.submit("b", recorder.task("b1"))
    recorder.release("a0")  # a: 1 running, b: 1 running; a was served less recently
    assert recorder.wait_started(4)[3] == "a2"
    recorder.release("a1")  # a: 1 running (a2), b: 1 running (b0): b's turn
    assert recorder.wait_started(5)[4] == "b1"


def test_one_session_alone_uses_every_worker(three: FairPool, recorder: Recorder) -> None:
    for n in range(3):
        three.submit("alone", recorder.task(f"m{n}"))
    assert sorted(recorder.wait_started(3)) == ["m0", "m1", "m2"]


def test_a_failing_task_does_not_take_its_worker_down(one: FairPool, recorder: Recorder) -> None:
    def boom() -> None:
        raise RuntimeError("builder crashed")

    one.submit("a", boom)
    one.submit("a", recorder.task("after", gated=False))
    assert recorder.wait_started(1) == ["after"]


def test_shutdown_drops_queued_tasks_and_refuses_new_ones(recorder: Recorder) -> None:
    pool = FairPool(1)
    pool.submit("a", recorder.task("running"))
    pool.submit("a", recorder.task("queued", gated=False))
    recorder.wait_started(1)
    stopper = threading.Thread(target=pool.shutdown)
    stopper.start()
    recorder.release("running")
    stopper.join(WAIT)
    assert not stopper.is_alive() and recorder.started == ["running"]
    with pytest.raises(RuntimeError):
        pool.submit("a", recorder.task("late"))


# ---------------------------------------------------------------- the build manager on the pool


class _Tracker:
    def add_async_task(self, name: str, metadata: dict[str, Any] | None = None) -> int:
        return 1

    def complete_async_task(self, task_id: int) -> bool:
        return True


class _GatedBuilders:
    """Builder models that record which module they build, then wait for that module's gate."""

    def __init__(self) -> None:
        self.recorder = Recorder()

    def create(self, role: str) -> ScriptedModel:
        holder: dict[str, threading.Event] = {}

        def check(messages: Any, tools: Any, system_prompt: str | None) -> None:
            name = str(messages[0]["content"][0]["text"]).split(": ", 1)[1].rstrip(".")
            holder["gate"] = self.recorder.gate(name)
            self.recorder.record(name)

        class _Until(threading.Event):
            def is_set(self) -> bool:
                gate = holder.get("gate")
                return gate is not None and gate.is_set()

        return ScriptedModel([Step(text="done", check=check, until=_Until())], name="builder")


def _entry(cache: AgentSessionCache, sid: str, titles: list[str]) -> SessionEntry:
    entry = cache.get_or_create(sid, user_id=1, vendor_id=1, agent_type="copilot")
    outline = {"title": sid, "description": "", "modules": [{"title": t, "description": t} for t in titles]}
    entry.canvas.apply("set_playbook_outline", outline)
    return entry


def test_a_one_module_build_starts_before_the_rest_of_another_sessions_large_build() -> None:
    settings = load_settings({"AGENT_SIGNING_SECRET": SECRET})
    builders = _GatedBuilders()
    manager = BuildManager(
        workers=3,
        spec=load_registry(settings.agents_config).get(BUILDER),
        model_factory=builders,
        tracker=_Tracker(),
    )
    cache = AgentSessionCache(capacity=10, idle_seconds=60, event_log_size=1000)
    large_titles = [f"Large {n}" for n in range(8)]
    large = _entry(cache, "11111111-1111-4111-8111-111111111111", large_titles)
    small = _entry(cache, "22222222-2222-4222-8222-222222222222", ["Small"])
    try:
        large_job = manager.start(large, list(range(8)))
        assert sorted(builders.recorder.wait_started(3)) == ["Large 0", "Large 1", "Large 2"]
        small_job = manager.start(small, [0])
        builders.recorder.release("Large 0")
        assert builders.recorder.wait_started(4)[3] == "Small"
        builders.recorder.release("Small")
        assert small_job.control.done.wait(WAIT)
        for title in large_titles:
            builders.recorder.release(title)
        assert large_job.control.done.wait(WAIT)
        assert sorted(builders.recorder.started[4:]) == [f"Large {n}" for n in range(3, 8)]
    finally:
        builders.recorder.release_all()
        manager.shutdown()
