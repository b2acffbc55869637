"""A long session on the Bedrock path never sends the model more than its configured token limit."""

from __future__ import annotations

from typing import Any

from agent_runtime.models.conversation import conversation_problems
from tests.support.sse import check_stream

LIMIT = 6_500
"""Tokens per request (the fake counts JSON characters / 4); system prompt and tools alone are ~3,600
(the orchestrator's task tools, add_task_step and set_module_tasks, brought ~600; undo_last_change
and redo_last_change with their instructions ~300).

The window is far larger than 200 turns need, so what keeps requests small is the token limit:
Strands compresses when the projected request passes ``compress_at`` × ``context_tokens``.
"""


def test_a_200_turn_session_stays_under_the_token_limit(bedrock: Any) -> None:
    settings = {"manager": "sliding_window", "window_size": 400, "context_tokens": LIMIT}
    conversation = {"conversation": settings}
    fake, harness = bedrock({"playbook_orchestrator": conversation})
    check_stream(harness.chat("Onboard new clients with a kickoff call and a 30-day review"))
    for turn in range(200):
        frames = harness.chat(f"rename module {turn % 3 + 1} to Stage {turn} of the onboarding journey")
        assert frames[-1].type == "RUN_FINISHED", (turn, frames[-1].event)
    sent = fake.by_role("orchestrator")
    assert len(sent) >= 400
    assert max(r.input_tokens for r in sent) <= LIMIT, max(r.input_tokens for r in sent)
    assert all(r.answered == "ok" for r in sent)
    assert conversation_problems(sent[-1].messages) == []
    # The canvas (in the system prompt) stays the source of truth after old messages are dropped.
    assert "Stage 198" in sent[-1].system_text and "Stage 0 " not in sent[-1].system_text
    assert all("Stage 0 " not in str(m) for m in sent[-1].messages), "the oldest turns were dropped"
    # Another runtime loads the stored session (only the kept window) and carries on within the limit.
    fake2, other = bedrock({"playbook_orchestrator": conversation})
    frames = other.chat("rename module 1 to Stage 200 of the onboarding journey")
    assert frames[-1].type == "RUN_FINISHED", frames[-1].event
    resumed = fake2.by_role("orchestrator")
    assert resumed and all(r.answered == "ok" and r.input_tokens <= LIMIT for r in resumed)
