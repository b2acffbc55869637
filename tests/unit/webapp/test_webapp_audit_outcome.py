"""Reading a decision's outcome off the relayed stream (webapp/audit/_outcome.py) — read only."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from ag_ui.core import (
    RunErrorEvent,
    RunFinishedEvent,
    RunStartedEvent,
    TextMessageContentEvent,
)
from ag_ui.encoder import EventEncoder

from webapp.agent.relay import RelayStream
from webapp.audit import StreamResult, TerminalScanner
from webapp.audit._outcome import MAX_FRAME_BYTES
from webapp.transports import UpstreamBroken

ENCODER = EventEncoder()
STARTED = ENCODER.encode(RunStartedEvent(thread_id="t", run_id="r")).encode()
FINISHED = ENCODER.encode(RunFinishedEvent(thread_id="t", run_id="r")).encode()
DONE = StreamResult(completed=True)


def text_frame(delta: str) -> bytes:
    return ENCODER.encode(TextMessageContentEvent(message_id="m", delta=delta)).encode()


def error_frame(code: str) -> bytes:
    return ENCODER.encode(RunErrorEvent(message="no", code=code)).encode()


def scan(stream: bytes, *, step: int | None = None) -> TerminalScanner:
    scanner = TerminalScanner()
    step = step or len(stream) or 1
    for i in range(0, len(stream), step):
        scanner.feed(stream[i : i + step])
    return scanner


@pytest.mark.parametrize("step", [1, 7, None])
def test_finished_run_is_accepted_however_the_bytes_are_split(step: int | None) -> None:
    stream = b"id: 1\n" + STARTED + b": heartbeat\n\n" + text_frame("hello") + b"id: 9\n" + FINISHED
    scanner = scan(stream, step=step)
    assert scanner.started and scanner.outcome(DONE) == "accepted"


def test_a_lone_run_error_is_refused_and_an_error_after_start_is_failed() -> None:
    assert scan(error_frame("INTERRUPT_EXPIRED")).outcome(DONE) == "refused:INTERRUPT_EXPIRED"
    assert scan(STARTED + text_frame("x") + error_frame("MODEL_ERROR")).outcome(DONE) == "failed:MODEL_ERROR"


def test_an_event_named_in_text_is_not_the_terminal_event() -> None:
    fake = '"type":"RUN_FINISHED" and data: {"type":"RUN_ERROR","code":"X"}\n\n'
    scanner = scan(STARTED + text_frame(fake))
    assert scanner.terminal is None
    assert scanner.outcome(DONE) == "failed:NO_TERMINAL_EVENT"


def test_without_a_terminal_event_the_relay_decides() -> None:
    partial = STARTED + text_frame("x")[:10]
    assert scan(partial).outcome(StreamResult(failure="UPSTREAM_FAILED")) == "failed:UPSTREAM_FAILED"
    assert scan(partial).outcome(StreamResult(completed=False)) == "failed:DISCONNECTED"
    assert scan(partial).outcome(StreamResult(completed=True, client_gone=True)) == "failed:DISCONNECTED"
    # a terminal event that made it out wins over what happened after
    assert scan(STARTED + FINISHED).outcome(StreamResult(client_gone=True)) == "accepted"


def test_interrupt_outcome_is_noted() -> None:
    event = {
        "type": "RUN_FINISHED",
        "threadId": "t",
        "runId": "r",
        "outcome": {"type": "interrupt", "interrupts": [{"id": "int-2", "reason": "build_modules:count>8"}]},
    }
    scanner = scan(STARTED + b"data: " + json.dumps(event).encode() + b"\n\n")
    assert scanner.outcome(DONE) == "accepted"
    assert scanner.detail() == {"run_outcome": "interrupt", "interrupt_ids": ["int-2"]}


def test_huge_frames_are_skipped_and_memory_stays_bounded() -> None:
    huge = b"data: " + json.dumps({"type": "STATE_SNAPSHOT", "pad": "x" * (3 * MAX_FRAME_BYTES)}).encode()
    scanner = TerminalScanner()
    scanner.feed(STARTED)
    for i in range(0, len(huge), 4096):
        scanner.feed(huge[i : i + 4096])
        assert len(scanner._buffer) <= MAX_FRAME_BYTES + 4096
    scanner.feed(b"\n")  # the boundary split across chunks
    scanner.feed(b"\n" + FINISHED)
    assert scanner.outcome(DONE) == "accepted"


def test_a_scanner_fault_never_escapes() -> None:
    scanner = TerminalScanner()
    scanner.feed("not bytes")  # type: ignore[arg-type]
    scanner.feed(FINISHED)  # dead after the fault: ignores the rest quietly
    assert scanner.terminal is None


class Upstream:
    def __init__(self, chunks: list[bytes], fail: Exception | None = None) -> None:
        self.chunks, self.fail = chunks, fail

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.fail is not None:
            raise self.fail

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


class Recorder:
    def __init__(self, fail_feed: bool = False) -> None:
        self.fed: list[bytes] = []
        self.results: list[StreamResult] = []
        self.fail_feed = fail_feed

    def feed(self, chunk: bytes) -> None:
        if self.fail_feed:
            raise ValueError("observer bug")
        self.fed.append(chunk)

    def closed(self, result: StreamResult) -> None:
        self.results.append(result)


def test_the_relay_shows_the_observer_each_chunk_and_how_it_ended() -> None:
    chunks = [STARTED, text_frame("a"), FINISHED]
    observer = Recorder()
    order: list[str] = []
    relay = RelayStream(Upstream(chunks), on_finish=lambda: order.append("finish"), observer=observer)
    assert b"".join(relay) == b"".join(chunks)
    relay.close()
    relay.close()
    assert observer.fed == chunks and len(observer.results) == 1
    result = observer.results[0]
    assert result.completed and result.failure is None and result.bytes_sent == sum(map(len, chunks))


def test_a_broken_upstream_is_reported_to_the_observer() -> None:
    observer = Recorder()
    relay = RelayStream(
        Upstream([STARTED], UpstreamBroken("reset")), on_finish=lambda: None, observer=observer
    )
    body = b"".join(relay)
    relay.close()
    assert body.startswith(STARTED) and b"UPSTREAM_FAILED" in body
    assert observer.results[0].failure == "UPSTREAM_FAILED" and not observer.results[0].completed
    assert observer.fed == [STARTED]  # the relay's own RUN_ERROR is not the runtime's answer


def test_a_failing_observer_is_dropped_and_the_bytes_still_flow() -> None:
    chunks = [STARTED, FINISHED]
    observer = Recorder(fail_feed=True)
    relay = RelayStream(Upstream(chunks), on_finish=lambda: None, observer=observer)
    assert b"".join(relay) == b"".join(chunks)
    relay.close()
    assert observer.results == []
