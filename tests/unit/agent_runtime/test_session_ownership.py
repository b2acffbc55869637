"""Who owns a session's state: the live entry, the store, or neither — never decided by a race.

Each test pauses the real code exactly in the gap it is about (an Event inside the store write,
or a scripted builder held mid-build), then does what a second request would do there.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from agent_runtime.agents.builder import BuildJob
from agent_runtime.models.scripted import ScriptedModel, Step
from tests.support.sse import check_stream, types_of
from tests.unit.agent_runtime.conftest import SID, ScriptedModels

OUTLINE = {
    "title": "Client onboarding",
    "description": "From signed contract to first value.",
    "modules": [{"title": "Kickoff"}, {"title": "Documents"}, {"title": "Review"}],
}


def _pause_inside_the_store_write(entry: Any) -> tuple[threading.Event, threading.Event]:
    """Make the entry's next store write stop after the data is written, before it returns."""
    written, release = threading.Event(), threading.Event()
    manager = entry.store_manager
    real_commit = manager.commit

    def commit_then_wait(agent: Any) -> None:
        real_commit(agent)
        written.set()
        assert release.wait(10), "the test never released the write"

    manager.commit = commit_then_wait
    return written, release


def test_a_request_during_the_sessions_own_store_write_keeps_the_live_entry(make_harness: Any) -> None:
    harness = make_harness(None)
    harness.chat("Onboard new clients with a kickoff call, document collection and a 30-day review")
    services = harness.services
    entry = services.cache.get(SID)
    assert entry is not None and entry.revision == 1
    head = entry.ephemeral.head()
    written, release = _pause_inside_the_store_write(entry)
    writer = threading.Thread(target=services.writer.persist, args=(entry,))
    writer.start()
    try:
        assert written.wait(10)
        # In the gap: the store already holds the new stamp, the entry does not yet.
        stored = services.writer.stored_portal(SID)
        assert stored is not None and stored["stamp"] != entry.stamp
        claims = services.codec.verify(harness.token())
        opened = services.keeper.open(claims, create=False)
        assert opened is entry, "the live session was replaced by a copy from the store"
        assert services.cache.get(SID) is entry and entry.ephemeral.head() == head
    finally:
        release.set()
        writer.join(10)
    assert entry.revision == 2 and services.keeper.open(claims, create=False) is entry


def test_a_write_by_another_runtime_is_still_seen(make_harness: Any) -> None:
    harness = make_harness(None)
    harness.chat("Onboard new clients with a kickoff call, document collection and a 30-day review")
    services = harness.services
    entry = services.cache.get(SID)
    assert entry is not None
    # another runtime (same store) takes a turn: this one's copy is now stale
    other = make_harness(None, DATA_DIR=str(services.settings.data_dir))
    frames = other.chat("add a module about security review")
    assert frames[-1].event["outcome"] == {"type": "success"}
    claims = services.codec.verify(harness.token())
    opened = services.keeper.open(claims, create=False)
    assert (
        opened is not entry and len(opened.canvas.playbook.modules) == len(entry.canvas.playbook.modules) + 1
    )


def _held_build(make_harness: Any) -> tuple[Any, threading.Event, threading.Event]:
    reached, release = threading.Event(), threading.Event()
    orchestrator = ScriptedModel(
        [
            Step(tool_calls=(("set_playbook_outline", OUTLINE),)),
            Step(),
            Step(tool_calls=(("build_modules", {"module_indices": [0]}),)),
            Step(),
        ]
    )
    builder = ScriptedModel(
        [
            Step(
                tool_calls=(("add_tasks", {"module_index": 0, "tasks": [{"title": "A"}]}),),
                check=lambda *_: reached.set(),
                until=release,
            ),
            Step(),
        ]
    )
    decision = {"domain": "playbooks", "handoff_context": "client onboarding"}
    router = ScriptedModel([Step(tool_calls=(("RouterDecision", decision),))], name="router")
    models = ScriptedModels({"router": [router], "orchestrator": [orchestrator], "builder": [builder]})
    harness = make_harness(models)
    harness.chat("Onboard new clients")
    frames = harness.chat("build module 1")
    assert types_of(frames)[-1] == "RUN_FINISHED"
    assert reached.wait(10)
    return harness, reached, release


def test_a_reset_during_a_build_stays_reset_when_the_build_winds_down(
    make_harness: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: the ending build wrote the dropped entry back (Strands' file manager refused, as the
    # session's folder was gone, and the runtime logged a store failure).
    harness, _, release = _held_build(make_harness)
    services = harness.services
    entry = services.cache.get(SID)
    assert entry is not None and isinstance(entry.build, BuildJob)
    job = entry.build
    keeper = services.writer
    real_delete = keeper.delete

    def delete_then_release(*args: Any) -> None:
        real_delete(*args)
        release.set()  # the stored session is gone; now the builder finishes and the build ends

    keeper.delete = delete_then_release  # type: ignore[method-assign]
    reset = harness.action("reset")
    check_stream(reset)
    assert job.control.done.wait(10)
    assert services.writer.stored_portal(SID) is None, "the reset session came back from the store"
    assert "could not store the session" not in caplog.text
    watch = harness.action("watch")
    assert [f.event["snapshot"]["canvas"]["modules"] for f in watch if f.type == "STATE_SNAPSHOT"] == [[]]


def test_a_finished_build_is_stored_before_its_watchers_are_told(make_harness: Any) -> None:
    harness, _, release = _held_build(make_harness)
    services = harness.services
    entry = services.cache.get(SID)
    assert entry is not None and isinstance(entry.build, BuildJob)
    job = entry.build
    seen: list[tuple[str, bool]] = []
    real_append_end = entry.ephemeral.append_end

    def append_end(outcome: str) -> int:
        stored = services.writer.stored_portal(SID)
        assert stored is not None
        seen.append((stored["canvas"]["phase"], job.running))
        return real_append_end(outcome)

    entry.ephemeral.append_end = append_end  # type: ignore[method-assign]
    release.set()
    assert job.control.done.wait(10)
    assert seen == [("refinement", True)]


def test_a_build_ending_after_a_reset_on_another_runtime_does_not_write_the_session_back(
    make_harness: Any, caplog: pytest.LogCaptureFixture
) -> None:
    harness, _, release = _held_build(make_harness)
    services = harness.services
    entry = services.cache.get(SID)
    assert entry is not None and isinstance(entry.build, BuildJob)
    job = entry.build
    other = make_harness(None, DATA_DIR=str(services.settings.data_dir))  # same store
    check_stream(other.action("reset"))
    release.set()
    assert job.control.done.wait(10)
    assert services.writer.stored_portal(SID) is None
    assert "could not store the session" not in caplog.text
    assert "changed elsewhere; not overwriting" in caplog.text
