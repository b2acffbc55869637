"""Event framing: SSE frames, the run emitter's pairing rules, the frame channel, the event log."""

from __future__ import annotations

import asyncio
import json
import threading

from ag_ui.core import CustomEvent

from agent_runtime.events import factory
from agent_runtime.events.emitter import RunEmitter
from agent_runtime.events.sse import HEARTBEAT, frame
from agent_runtime.session.channel import FrameChannel
from agent_runtime.session.ephemeral import EphemeralState
from tests.support.sse import check_stream, parse_frames, types_of


class Sink:
    def __init__(self) -> None:
        self.data = b""

    def put(self, data: bytes) -> None:
        self.data += data


def test_a_frame_is_the_id_then_the_encoders_data_line() -> None:
    raw = frame(7, CustomEvent(name="x", value={"a": None}))
    assert raw == b'id: 7\ndata: {"type":"CUSTOM","name":"x","value":{"a":null}}\n\n'


def test_emitter_pairs_text_and_writes_one_terminal_event() -> None:
    sink, ids = Sink(), iter(range(1, 100))
    emitter = RunEmitter(sink, lambda: next(ids), "thread", "run")
    emitter.start()
    emitter.text("Hello ")
    emitter.text("")
    emitter.text("world")
    emitter.tool_call("t1", "suggest_replies", {"replies": ["ok"]})  # closes the open message first
    emitter.text("More")
    emitter.finish({"phase": "outline", "version": 1})
    emitter.error("X", "too late")  # ignored: the run already ended
    frames = parse_frames(sink.data)
    check_stream(frames)
    assert types_of(frames) == [
        "RUN_STARTED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "CUSTOM:portal.done",
        "RUN_FINISHED",
    ]
    assert [f.id for f in frames] == list(range(1, len(frames) + 1))
    assert json.loads(frames[6].event["delta"]) == {"replies": ["ok"]}
    assert emitter.terminated


def test_cancelled_ending() -> None:
    sink, ids = Sink(), iter(range(1, 100))
    emitter = RunEmitter(sink, lambda: next(ids), "thread", "run")
    emitter.start()
    emitter.cancelled("stop")
    frames = parse_frames(sink.data)
    check_stream(frames)
    assert types_of(frames) == ["RUN_STARTED", "CUSTOM:run.cancelled", "RUN_FINISHED"]
    assert frames[-1].event["outcome"] == {"type": "cancelled"}


def test_channel_relays_from_another_thread_and_sends_heartbeats() -> None:
    channel = FrameChannel(heartbeat_seconds=0.05)
    go = threading.Event()

    def producer() -> None:
        channel.put(b"one")
        go.wait(5)
        channel.put(b"two")
        channel.close()

    async def consume() -> list[bytes]:
        out: list[bytes] = []
        async for chunk in channel.frames():
            out.append(chunk)
            if chunk == HEARTBEAT:
                go.set()  # a heartbeat arrived during the producer's silence
        return out

    thread = threading.Thread(target=producer)
    thread.start()
    chunks = asyncio.run(consume())
    thread.join(5)
    assert chunks[0] == b"one" and chunks[-1] == b"two" and HEARTBEAT in chunks


def test_event_log_reads_after_a_cursor_and_reports_a_gap() -> None:
    log = EphemeralState(capacity=3)
    assert log.next_id() == 1  # a chat frame takes an id but is not logged
    log.append([factory.custom("a", 1), factory.custom("b", 2)])  # 2, 3
    log.append_end("success")  # 4
    read = log.read_after(2)
    assert [e.seq for e in read.entries] == [3, 4] and not read.gap
    assert read.entries[-1].kind == "end"
    log.append([factory.custom("c", 3), factory.custom("d", 4)])  # 5, 6; drops 2 and 3
    assert log.read_after(1).gap and log.read_after(2).gap
    assert not log.read_after(3).gap
    assert [e.seq for e in log.read_after(3).entries] == [4, 5, 6]
    assert log.head() == 6
