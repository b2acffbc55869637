"""The frame relay (webapp/agent/relay.py): whole frames unchanged, a cut frame dropped, one RUN_ERROR."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ag_ui.core import RunErrorEvent

from webapp.agent.relay import RelayStream, complete_length, run_error_frame
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


INTERRUPTED = run_error_frame(
    "The assistant's connection was interrupted. Please try again.", "UPSTREAM_FAILED"
)


@pytest.mark.parametrize(
    ("buffer", "complete"),
    [
        (b"", 0),
        (b"data: {}\n\n", 10),
        (b'data: {}\n\ndata: {"ty', 10),
        (b"data: {}\r\n\r\nid: 2", 12),
        (b"data: {}\r\rid", 10),
        (b"data: {}\n\r\nx", 11),
        (b"id: 4\ndata: {}\n", 0),
        (b": heartbeat\n\n: hb", 13),
    ],
)
def test_complete_length_finds_the_last_blank_line(buffer: bytes, complete: int) -> None:
    assert complete_length(buffer) == complete


def test_frames_split_anywhere_are_forwarded_whole_and_byte_identical() -> None:
    frames = [b'id: 1\ndata: {"a":1}\n\n', b": heartbeat\n\n", b"id: 2\r\ndata: {}\r\n\r\n"]
    body = b"".join(frames)
    for cut in range(1, len(body)):
        for second_cut in range(cut, len(body)):
            chunks = [body[:cut], body[cut:second_cut], body[second_cut:]]
            stream, _ = relay(FakeUpstream(chunks))
            out = list(stream)
            assert b"".join(out) == body
            for piece in out:  # every piece the browser gets ends at a frame boundary
                assert complete_length(piece) == len(piece)


def test_a_frame_is_forwarded_as_soon_as_its_blank_line_arrives() -> None:
    upstream = FakeUpstream([b"id: 1\ndata: {}", b"\n", b"\nid: 2\nda", b"ta: {}\n\n"])
    assert list(relay(upstream)[0]) == [b"id: 1\ndata: {}\n\n", b"id: 2\ndata: {}\n\n"]


@pytest.mark.parametrize(
    ("chunks", "forwarded"),
    [
        ([b"data: {}\n\n"], b"data: {}\n\n"),
        ([b"data: {}\n\n", b'data: {"type":"TEXT_'], b"data: {}\n\n"),
        ([b"data: {}\n\nid: 3\ndata: {}\n"], b"data: {}\n\n"),
        ([b'data: {"type":"TEX'], b""),
    ],
)
def test_mid_stream_failure_drops_the_partial_frame_then_one_run_error(
    chunks: list[bytes], forwarded: bytes
) -> None:
    stream, _ = relay(FakeUpstream(chunks, UpstreamBroken("reset")))
    out = b"".join(stream)
    assert out == forwarded + INTERRUPTED
    frames = [f for f in out.split(b"\n\n") if f]
    RunErrorEvent.model_validate_json(frames[-1].removeprefix(b"data: "))


def test_clean_end_inside_a_frame_drops_it_and_is_a_failure() -> None:
    stream, _ = relay(FakeUpstream([b"data: {}\n\n", b'data: {"x']))
    assert b"".join(stream) == b"data: {}\n\n" + INTERRUPTED
    assert stream.result.failure == "UPSTREAM_FAILED" and not stream.result.completed


def test_stray_line_endings_after_the_last_frame_are_forwarded_not_an_error() -> None:
    stream, _ = relay(FakeUpstream([b"data: {}\n\n\n"]))
    assert b"".join(stream) == b"data: {}\n\n\n" and stream.result.completed


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
