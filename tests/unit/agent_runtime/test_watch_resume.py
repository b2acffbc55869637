"""A watch is a valid AG-UI run whatever it resumes from (the session's event log, in process)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from agent_runtime.actions.watch import watch_stream
from agent_runtime.agents.builder import BuildJob
from agent_runtime.contract import WatchPayload
from agent_runtime.events import factory
from agent_runtime.session.cache import AgentSessionCache, SessionEntry
from tests.support.sse import Frame, check_stream, parse_frames

SID = "00000000-0000-4000-8000-000000000001"


def _entry(capacity: int = 100) -> SessionEntry:
    cache = AgentSessionCache(capacity=4, idle_seconds=60, event_log_size=capacity)
    return cache.get_or_create(SID, user_id=1, vendor_id=1, agent_type="copilot")


def _builder(entry: SessionEntry, sub: str, index: int) -> None:
    entry.ephemeral.append(
        [
            factory.subagent_started(sub, "module_builder", f"Module {index}", {"module_index": index}),
            factory.custom("module.status", {"module_index": index, "status": "building"}),
        ]
    )


def _tool(entry: SessionEntry, sub: str, call: str, index: int) -> None:
    args = {"module_index": index, "tasks": [{"title": "T"}]}
    entry.ephemeral.append(factory.tool_call(call, "add_tasks", args, subagent_run_id=sub))


def _a_build(entry: SessionEntry) -> None:
    entry.ephemeral.next_id()  # a chat turn's frame (not in the log)
    _builder(entry, "b0", 0)
    _builder(entry, "b1", 1)
    _tool(entry, "b0", "c0", 0)
    _builder(entry, "b2", 2)
    _tool(entry, "b1", "c1", 1)
    entry.ephemeral.append([factory.subagent_finished("b0", {"tasks": 1}, {"module_index": 0})])
    _tool(entry, "b2", "c2", 2)
    entry.ephemeral.append([factory.subagent_error("b1", "stopped", "CANCELLED", {"module_index": 1})])
    entry.ephemeral.append([factory.subagent_finished("b2", {"tasks": 1}, {"module_index": 2})])
    entry.ephemeral.append([factory.state_snapshot(entry.canvas.snapshot()), *factory.text_message("Done!")])
    entry.ephemeral.append_end("success")


async def _drain(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


def _watch(entry: SessionEntry, last_event_id: int | None) -> list[Frame]:
    payload = WatchPayload(session_id=SID, token="t", action="watch", last_event_id=last_event_id)
    return parse_frames(asyncio.run(_drain(watch_stream(entry, payload, 5.0))))


def test_a_watch_resumed_at_any_id_is_a_valid_run_and_replays_the_log_once() -> None:
    entry = _entry()
    _a_build(entry)
    whole = _watch(entry, 0)
    check_stream(whole)
    log = whole[1:-2]  # between RUN_STARTED and the ending (portal.done, RUN_FINISHED)
    first = min(f.id or 0 for f in log)  # a new session's ids start at the clock (issue 9 item 4)
    for cursor in [0, *range(first - 1, entry.ephemeral.head() + 1)]:
        frames = _watch(entry, cursor)
        check_stream(frames)  # announced before used, nothing closed that was not opened
        replay = [f for f in frames[1:-2] if not (f.type == "SUBAGENT_STARTED" and (f.id or 0) <= cursor)]
        # the replay is the log from a point at or before the cursor: no gap, no duplicate event
        assert replay == log[len(log) - len(replay) :], cursor
        assert len(replay) >= sum(1 for f in log if (f.id or 0) > cursor), cursor  # nothing missed
        again = [f.type for f in replay if (f.id or 0) <= cursor]  # sent again: only a broken group
        assert not again or again[0] in ("TOOL_CALL_START", "TEXT_MESSAGE_START"), (cursor, again)


def test_a_resume_point_inside_a_tool_call_replays_the_whole_call() -> None:
    entry = _entry()
    _a_build(entry)
    whole = _watch(entry, 0)
    args = next(f for f in whole if f.type == "TOOL_CALL_ARGS")
    frames = _watch(entry, args.id)
    check_stream(frames)
    kinds = [f.type for f in frames]
    # RUN_STARTED, the two open builders, then the interrupted call from its start
    assert kinds[:3] == ["RUN_STARTED", "SUBAGENT_STARTED", "SUBAGENT_STARTED"]
    assert kinds[3:5] == ["TOOL_CALL_START", "TOOL_CALL_ARGS"]
    assert frames[3].event["toolCallId"] == args.event["toolCallId"]
    assert entry.ephemeral.resume_point(args.id or 0) == (args.id or 0) - 2


def test_a_watcher_that_falls_behind_closes_and_announces_what_changed() -> None:
    entry = _entry(capacity=16)
    job = BuildJob(entry, [0, 1, 2], "build_1")
    entry.build = job
    _builder(entry, "b0", 0)
    _builder(entry, "b1", 1)
    payload = WatchPayload(session_id=SID, token="t", action="watch")

    async def run() -> bytes:
        stream = watch_stream(entry, payload, 5.0)
        chunks = [await anext(stream)]  # the opening: snapshot + both builders announced
        # meanwhile, far more than the log holds: b0 finishes, b2 starts, b1 works on
        entry.ephemeral.append([factory.subagent_finished("b0", {"tasks": 1}, {"module_index": 0})])
        _builder(entry, "b2", 2)
        for n in range(12):
            _tool(entry, "b1", f"c{n}", 1)
        chunks.append(await anext(stream))  # fell behind: b0 closed, the canvas, b2 announced
        entry.ephemeral.append([factory.subagent_finished("b1", {"tasks": 1}, {"module_index": 1})])
        entry.ephemeral.append([factory.subagent_finished("b2", {"tasks": 1}, {"module_index": 2})])
        entry.ephemeral.append_end("success")
        job.control.done.set()
        chunks += [chunk async for chunk in stream]
        return b"".join(chunks)

    frames = parse_frames(asyncio.run(run()))
    check_stream(frames)
    assert [f.type for f in frames].count("STATE_SNAPSHOT") == 2  # it started over from the canvas
    ended = [f.event["subagentRunId"] for f in frames if f.type == "SUBAGENT_FINISHED"]
    assert sorted(ended) == ["b0", "b1", "b2"]


def test_a_session_loaded_after_a_restart_reads_ids_from_its_earlier_life_as_a_gap() -> None:
    before = _entry()
    _a_build(before)  # ids 1… on the runtime that died
    old_cursor = before.ephemeral.head() - 3
    cache = AgentSessionCache(capacity=4, idle_seconds=60, event_log_size=100)
    after = cache.new_entry(SID, user_id=1, vendor_id=1, agent_type="copilot")  # loaded from the store
    assert after.ephemeral.next_id() > before.ephemeral.head()
    for _ in range(40):  # the new life logs more than the old one had
        _tool(after, "b9", f"n{_}", 0)
    frames = _watch(after, old_cursor)
    check_stream(frames)
    assert [f.type for f in frames][:2] == ["RUN_STARTED", "STATE_SNAPSHOT"], "an old id must not replay"
    assert all((f.id or 0) > old_cursor for f in frames)


def test_a_session_created_here_numbers_above_an_earlier_unstored_life_and_replays_from_zero() -> None:
    # Issue 9 item 4: a runtime restarted after only the router answered stored nothing, yet the
    # page kept that life's ids; numbering from 0 again made it drop the next turn's changes.
    earlier_life_ids = time.time_ns() // 1000
    entry = _entry()
    assert entry.ephemeral.next_id() > earlier_life_ids
    _a_build(entry)
    frames = _watch(entry, 0)  # the log holds the whole session: "from the start" is no gap
    check_stream(frames)
    assert "STATE_SNAPSHOT" not in [f.type for f in frames[:2]]
    assert [f.type for f in frames].count("SUBAGENT_STARTED") == 3
