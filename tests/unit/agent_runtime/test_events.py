"""Event framing: SSE frames, the run emitter's pairing rules, the frame channel, the event log."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from ag_ui.core import BaseEvent, CustomEvent, Event, TextMessageContentEvent
from pydantic import TypeAdapter
from pydantic_core import PydanticSerializationError

from agent_runtime.events import factory
from agent_runtime.events.emitter import RunEmitter
from agent_runtime.events.sse import HEARTBEAT, TextContentFrames, frame
from agent_runtime.session.channel import FrameChannel, Waker
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


def _every_code_point() -> str:
    return "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)


def test_text_content_frames_are_the_encoders_bytes_for_every_character() -> None:
    text = _every_code_point()
    frames = TextContentFrames('msg_"quoted"\\id\u2028')
    for start in range(0, len(text), 8192):  # every code point, in deltas of 8 K characters
        delta = text[start : start + 8192]
        expected = frame(start + 1, TextMessageContentEvent(message_id=frames.message_id, delta=delta))
        assert frames.frame(start + 1, delta) == expected, f"differs in characters from {start}"
    for delta in ["", " ", "\n\n", "data: x\n\nid: 9", '"}', "\\", "\x00\x1f\x7f", "😀"]:
        expected = frame(5, TextMessageContentEvent(message_id=frames.message_id, delta=delta))
        assert frames.frame(5, delta) == expected


def test_a_lone_surrogate_fails_as_the_encoder_fails() -> None:
    with pytest.raises(PydanticSerializationError):
        frame(1, TextMessageContentEvent(message_id="m", delta="a\ud800"))
    with pytest.raises(PydanticSerializationError):
        TextContentFrames("m").frame(1, "a\ud800")


def test_emitted_text_is_byte_identical_to_encoding_each_event() -> None:
    sink, ids = Sink(), iter(range(1, 100))
    emitter = RunEmitter(sink, lambda: next(ids), "thread", "run")
    emitter.start()
    for delta in ["Hello ", "wörld ", "\u2028", '"quoted"']:
        emitter.text(delta)
    emitter.end_text()
    emitter.text("again")
    emitter.finish({"phase": "outline", "version": 1})
    frames = parse_frames(sink.data)
    check_stream(frames)
    rebuilt = b"".join(frame(f.id, _event_from_wire(f.event)) for f in frames)
    assert sink.data == rebuilt
    assert [f.event.get("delta") for f in frames if f.event["type"] == "TEXT_MESSAGE_CONTENT"] == [
        "Hello ",
        "wörld ",
        "\u2028",
        '"quoted"',
        "again",
    ]
    messages = {f.event["messageId"] for f in frames if f.event["type"].startswith("TEXT_MESSAGE")}
    assert len(messages) == 2  # a new message after the first was closed


def _event_from_wire(data: dict[str, object]) -> BaseEvent:
    return TypeAdapter(Event).validate_python(data)  # type: ignore[no-any-return]


def test_a_put_racing_the_consumers_wait_still_wakes_it() -> None:
    """The consumer found nothing and is about to wait when a producer thread puts a frame."""
    channel = FrameChannel(heartbeat_seconds=60)  # a lost wake-up would show as a 60 s stall
    about_to_wait, put_done = threading.Event(), threading.Event()
    original_wait = Waker.wait

    async def wait_after_the_put(self: Waker, timeout: float) -> bool:
        if not about_to_wait.is_set():
            about_to_wait.set()
            await asyncio.to_thread(put_done.wait, 5)  # the put lands in the gap
        return await original_wait(self, timeout)

    def producer() -> None:
        about_to_wait.wait(5)
        channel.put(b"late")
        put_done.set()
        channel.close()

    async def consume() -> list[bytes]:
        return [chunk async for chunk in channel.frames()]

    thread = threading.Thread(target=producer)
    thread.start()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Waker, "wait", wait_after_the_put)
        chunks = asyncio.run(asyncio.wait_for(consume(), 5))
    thread.join(5)
    assert chunks == [b"late"]


def test_a_busy_consumer_is_not_woken_for_every_frame() -> None:
    """A producer on the consumer's loop writes 200 frames in one go: one wake-up, not 200."""
    channel = FrameChannel(heartbeat_seconds=60)
    wakes = 0
    original_wake = Waker.wake

    def counting_wake(self: Waker) -> None:
        nonlocal wakes
        wakes += 1
        original_wake(self)

    async def run() -> list[bytes]:
        frames = channel.frames()
        first = asyncio.ensure_future(anext(frames))
        await asyncio.sleep(0)  # one loop turn: the consumer finds nothing and waits
        for n in range(200):
            channel.put(b"%d," % n)
        channel.close()
        return [await first] + [chunk async for chunk in frames]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Waker, "wake", counting_wake)
        chunks = asyncio.run(run())
    assert b"".join(chunks) == b"".join(b"%d," % n for n in range(200))
    assert wakes <= 2  # the first put (the consumer was waiting) and the close
