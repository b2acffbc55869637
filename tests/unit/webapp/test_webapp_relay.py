"""The byte relay (webapp/agent/relay.py): unchanged chunks, one RUN_ERROR at a frame boundary."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ag_ui.core import RunErrorEvent

from webapp.agent.relay import RelayStream, frame_terminator, run_error_frame
from webapp.transports import UpstreamBroken


class FakeUpstream:
    def __init__(self, chunks: list[bytes], fail: Exception | None = None) -> None:
        self.chunks, self.fail = chunks, fail
        self.closed = self.aborted = 0

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.fail is not None:
            raise self.fail

    def close(self) -> None:
        self.closed += 1

    def abort(self) -> None:
        self.aborted += 1


def relay(upstream: FakeUpstream) -> tuple[RelayStream, list[int]]:
    finished: list[int] = []
    return RelayStream(upstream, on_finish=lambda: finished.append(1)), finished


def test_run_error_frame_is_a_valid_ag_ui_event() -> None:
    frame = run_error_frame('quote " and\nnewline', "UPSTREAM_FAILED")
    assert frame.startswith(b"data: ") and frame.endswith(b"\n\n") and frame.count(b"\n") == 2
    event = RunErrorEvent.model_validate_json(frame[len(b"data: ") :])
    assert event.message == 'quote " and\nnewline' and event.code == "UPSTREAM_FAILED"


@pytest.mark.parametrize(
    ("tail", "terminator"),
    [
        (b"", b""),
        (b"}\n\n", b""),
        (b"}\r\n\r\n", b""),
        (b"data: {}\n", b"\n"),
        (b"id: 4\n", b"\n"),
        (b'data: {"ty', b"\n\n"),
        (b": heartbe", b"\n\n"),
    ],
)
def test_frame_terminator(tail: bytes, terminator: bytes) -> None:
    assert frame_terminator(tail) == terminator


def test_chunks_pass_unchanged_and_in_order() -> None:
    chunks = [b'id: 1\ndata: {"a"', b":1}\n\n", b"", b"id: 2\ndata: {}\n\n"]
    stream, finished = relay(FakeUpstream(chunks))
    assert list(stream) == [c for c in chunks if c]
    stream.close()
    stream.close()
    assert finished == [1]


@pytest.mark.parametrize(
    ("chunks", "joiner"),
    [
        ([b"data: {}\n\n"], b""),
        ([b"data: {}\n\n", b'data: {"type":"TEXT_'], b"\n\n"),
        ([b"data: {}\n"], b"\n"),
    ],
)
def test_mid_stream_failure_appends_exactly_one_run_error(chunks: list[bytes], joiner: bytes) -> None:
    stream, _ = relay(FakeUpstream(chunks, UpstreamBroken("reset")))
    out = b"".join(stream)
    sent = b"".join(chunks)
    assert out == sent + joiner + run_error_frame(
        "The assistant's connection was interrupted. Please try again.", "UPSTREAM_FAILED"
    )
    frames = [f for f in out.split(b"\n\n") if f]
    RunErrorEvent.model_validate_json(frames[-1].removeprefix(b"data: "))


def test_clean_end_inside_a_frame_is_a_failure() -> None:
    stream, _ = relay(FakeUpstream([b"data: {}\n\n", b'data: {"x']))
    out = b"".join(stream)
    assert out.count(b"RUN_ERROR") == 1 and out.endswith(b"\n\n")


def test_unexpected_error_becomes_internal_run_error_not_a_traceback() -> None:
    stream, _ = relay(FakeUpstream([b"data: {}\n\n"], ValueError("boom")))
    out = b"".join(stream)
    assert b'"code":"INTERNAL"' in out and b"Traceback" not in out and b"boom" not in out


def test_close_without_iterating_still_finishes() -> None:
    upstream = FakeUpstream([b"data: {}\n\n"])
    stream, finished = relay(upstream)
    stream.close()
    assert finished == [1] and upstream.closed == 1


def test_client_hangup_aborts_upstream_and_adds_no_frame() -> None:
    upstream = FakeUpstream([b"data: {}\n\n"], UpstreamBroken("aborted"))
    stream, _ = relay(upstream)
    iterator = iter(stream)
    assert next(iterator) == b"data: {}\n\n"
    stream._hangup()
    assert list(iterator) == [] and upstream.aborted == 1
