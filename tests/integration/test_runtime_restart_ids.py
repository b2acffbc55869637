"""Issue 9 item 4 on the real runtime process: no life of a session reuses an SSE id of an earlier one.

The builder page keeps the highest id of the last snapshot it applied and drops any tool call or
snapshot with a lower id (a snapshot already contained it), and resumes its watch from the last
id it saw. So a runtime restarted under ``make run`` that numbered a session's frames from 0
again made the page drop the retried turn's changes while it showed the reply ("Added Customer
Notification as module 8" over 7 modules, even after a reload). Here: a session loaded from the
store, and one that was never stored (only the router answered before the restart), both carry
on above every id the page saw; a watch resumed from an id of the earlier life gets the snapshot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.runtime_process import start_runtime
from tests.support.sse import Frame, check_stream, last_snapshot, text_of, types_of

ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"
ADD = "add a module about customer notification"


def _ids(frames: list[Frame]) -> list[int]:
    return [f.id for f in frames if f.id is not None]


def _modules(frames: list[Frame]) -> list[dict[str, Any]]:
    return list(last_snapshot(frames)["canvas"]["modules"])


def test_a_stored_session_carries_on_above_every_id_of_its_earlier_life(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path)}
    with start_runtime(env) as first:
        sid, token = first.new_session()
        outline = first.chat(sid, token, ONBOARDING)
        check_stream(outline)
        seen = max(_ids(outline))
        modules = len(_modules(outline))
        first.kill()
    with start_runtime(env) as second:
        again = second.chat(sid, token, ADD)  # "Try again" after the restart
        check_stream(again)
        assert min(_ids(again)) > seen
        assert len(_modules(again)) == modules + 1
        assert f"as module {modules + 1}" in text_of(again)
        # the stored version carries on
        assert last_snapshot(again)["version"] > last_snapshot(outline)["version"]
        # the page's reload resumes its watch from the id it saw last before the restart
        reload = second.action(sid, token, "watch", last_event_id=seen)
        check_stream(reload)
        assert "STATE_SNAPSHOT" in types_of(reload)
        assert len(_modules(reload)) == modules + 1


def test_a_session_never_stored_carries_on_above_every_id_of_its_earlier_life(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path)}
    with start_runtime(env) as first:
        sid, token = first.new_session()
        greeting = first.chat(sid, token, "hello, what can you do?")  # only the router answers
        check_stream(greeting)
        assert not _modules(greeting)
        seen = max(_ids(greeting))
        first.kill()
    with start_runtime(env) as second:
        outline = second.chat(sid, token, ONBOARDING)
        check_stream(outline)
        assert _modules(outline)
        assert min(_ids(outline)) > seen, "the page would drop this turn's tool calls as already applied"
