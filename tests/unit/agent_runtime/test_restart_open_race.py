"""Issue 9 item 4, hypothesis (a): after a restart, the reconnecting watch and "Try again" open together.

On a fresh runtime (empty cache, same store) both load the stored session at the same moment. If
each rehydrated its own entry, the turn would change one while the watch, a snapshot or the next
store read showed the other — "the chat says module 8, the canvas keeps 7". The test holds the
first opener inside its store read until the second is waiting at the keeper, then checks both
got the one live entry, and that the turn's change is what the watch shows.
"""

from __future__ import annotations

import threading
from typing import Any

from tests.support.sse import check_stream, last_snapshot
from tests.unit.agent_runtime.conftest import SID

ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"


class NoticingLock:
    """A lock that says when a second thread has to wait for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.contended = threading.Event()

    def __enter__(self) -> NoticingLock:
        if not self._lock.acquire(blocking=False):
            self.contended.set()
            self._lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def _modules(frames: list[Any]) -> list[str]:
    return [m["title"] for m in last_snapshot(frames)["canvas"]["modules"]]


def test_a_watch_and_a_retried_turn_opening_together_after_a_restart_share_one_entry(
    make_harness: Any,
) -> None:
    before = make_harness(None)
    outline = before.chat(ONBOARDING)
    count = len(_modules(outline))
    restarted = make_harness(None, DATA_DIR=str(before.services.settings.data_dir))  # same store
    services = restarted.services
    assert services.cache.get(SID) is None
    claims = services.codec.verify(restarted.token())

    lock = NoticingLock()
    services.keeper._load_lock = lock  # type: ignore[assignment]  # observe the keeper's own gate
    inside, release = threading.Event(), threading.Event()
    real_read = services.writer.store.read_agent_state
    first = threading.Lock()

    def read_then_wait(session_id: str, agent_id: str) -> Any:
        state = real_read(session_id, agent_id)
        if first.acquire(blocking=False):  # only the first reader pauses, in the gap
            inside.set()
            assert release.wait(10), "the test never released the read"
        return state

    services.writer.store.read_agent_state = read_then_wait  # type: ignore[method-assign]
    opened: dict[str, Any] = {}
    watch = threading.Thread(target=lambda: opened.update(watch=services.keeper.open(claims, create=False)))
    turn = threading.Thread(target=lambda: opened.update(turn=services.keeper.open(claims, create=True)))
    watch.start()
    try:
        assert inside.wait(10)
        turn.start()
        assert lock.contended.wait(10), "the second opener did not wait for the first one's load"
    finally:
        release.set()
        watch.join(10)
        turn.join(10)
    assert opened["watch"] is opened["turn"] is services.cache.get(SID)

    services.writer.store.read_agent_state = real_read  # type: ignore[method-assign]
    again = restarted.chat("add a module about customer notification")
    check_stream(again)
    after = _modules(again)
    assert len(after) == count + 1 and "notification" in after[-1].lower()
    assert len(opened["turn"].canvas.playbook.modules) == count + 1  # the turn changed the shared entry
    shown = restarted.action("watch")
    check_stream(shown)
    assert _modules(shown) == after
