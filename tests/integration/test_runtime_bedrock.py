"""The real runtime process on the Bedrock path: ``MODEL_PROVIDER=bedrock`` with
``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` at the loopback Bedrock fake (real event-stream framing,
parsed by botocore in the runtime process)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.bedrock_fake import BedrockFake, Fault
from tests.support.runtime_process import RuntimeProcess, start_runtime
from tests.support.sse import check_stream, custom, text_of, tool_calls, types_of

FIRST = "Onboard new clients with a kickoff call, document collection and a 30-day review"


@pytest.fixture(scope="module")
def bedrock_runtime() -> Iterator[tuple[BedrockFake, RuntimeProcess]]:
    with (
        BedrockFake() as fake,
        start_runtime(
            {
                "MODEL_PROVIDER": "bedrock",
                "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": fake.url,
                "AWS_REGION": "us-east-1",
            }
        ) as runtime,
    ):
        yield fake, runtime


def test_a_first_turn_over_http_is_the_design_sequence(
    bedrock_runtime: tuple[BedrockFake, RuntimeProcess], runtime: RuntimeProcess
) -> None:
    fake, process = bedrock_runtime
    sid, token = process.new_session()
    frames = process.chat(sid, token, FIRST)
    check_stream(frames)
    offline_sid, offline_token = runtime.new_session()
    expected = runtime.chat(offline_sid, offline_token, FIRST)
    assert [t for t in types_of(frames) if t != "TEXT_MESSAGE_CONTENT"] == [
        t for t in types_of(expected) if t != "TEXT_MESSAGE_CONTENT"
    ]
    assert tool_calls(frames) == tool_calls(expected) and text_of(frames) == text_of(expected)
    assert {r.role for r in fake.requests} >= {"router", "orchestrator"}


def test_a_throttle_mid_stream_is_retried_and_the_text_shown_once(
    bedrock_runtime: tuple[BedrockFake, RuntimeProcess],
) -> None:
    fake, process = bedrock_runtime
    sid, token = process.new_session()
    fake.add(Fault("throttle", role="orchestrator", after_chars=6, skip=1))
    frames = process.chat(sid, token, FIRST)
    check_stream(frames)
    assert frames[-1].type == "RUN_FINISHED"
    (retry,) = custom(frames, "model.retry")
    withdrawn = set(retry["withdrawn"])
    kept = "".join(
        f.event["delta"]
        for f in frames
        if f.type == "TEXT_MESSAGE_CONTENT" and f.event["messageId"] not in withdrawn
    )
    assert kept.startswith("Here's an outline") and kept.count("Here's an outline") == 1
