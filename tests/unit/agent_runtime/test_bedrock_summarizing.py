"""The summarising conversation manager on the Bedrock path: every request is one Bedrock accepts,
and the session stays under its token limit."""

from __future__ import annotations

from typing import Any

from agent_runtime.models.context import transcript_of
from tests.support.sse import check_stream

LIMIT = 4_000


def test_a_summarising_session_sends_only_valid_requests_within_the_limit(bedrock: Any) -> None:
    settings = {"manager": "summarizing", "context_tokens": LIMIT, "preserve_recent": 4, "summary_ratio": 0.5}
    fake, harness = bedrock({"playbook_orchestrator": {"conversation": settings}})
    check_stream(harness.chat("Onboard new clients with a kickoff call and a 30-day review"))
    for turn in range(40):
        frames = harness.chat(f"rename module {turn % 3 + 1} to Stage {turn} of the onboarding journey")
        assert frames[-1].type == "RUN_FINISHED", (turn, frames[-1].event)
    summaries = [r for r in fake.requests if "summar" in r.system_text.lower()]
    assert summaries, "the manager summarised"
    assert all(r.answered == "ok" for r in fake.requests), [
        r.answered for r in fake.requests if r.answered != "ok"
    ]
    orchestrator = fake.by_role("orchestrator")
    assert max(r.input_tokens for r in orchestrator) <= LIMIT


def test_the_transcript_flattens_tool_calls_and_results() -> None:
    text = transcript_of(
        [
            {"role": "user", "content": [{"text": "rename it"}]},
            {
                "role": "assistant",
                "content": [
                    {"toolUse": {"toolUseId": "t", "name": "update_playbook", "input": {"title": "X"}}}
                ],
            },
            {
                "role": "user",
                "content": [
                    {"toolResult": {"toolUseId": "t", "status": "success", "content": [{"text": "ok"}]}}
                ],
            },
        ]
    )
    assert text.splitlines() == [
        "Person: rename it",
        'Assistant called update_playbook with {"title": "X"}',
        "Tool result (success): ok",
    ]
