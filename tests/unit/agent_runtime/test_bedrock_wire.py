"""The runtime on the Bedrock path, against a wire-level fake of Bedrock Runtime.

Strands' ``BedrockModel`` talks to :class:`tests.support.bedrock_fake.BedrockFake` over loopback
HTTP; botocore signs the requests and parses the binary event stream for real. The fake answers
what the offline planner would, Claude-style, so every stream here can be compared with the
offline run of the same conversation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent_runtime.models.conversation import conversation_problems
from tests.support.sse import Frame, check_stream, text_of, tool_calls
from tests.unit.agent_runtime.bedrock_support import shape

SID2 = "1f4e8c1a-2b3d-4e5f-8a9b-0c1d2e3f4a5c"
FIRST = "Onboard new clients with a kickoff call, document collection and a 30-day review"
TWELVE = (
    "Create a playbook with 12 modules: intake, kickoff, discovery, design, build, test, train, launch, "
    "support, review, audit, close"
)


def _snapshot(frames: list[Frame]) -> dict[str, Any]:
    return dict([f.event["snapshot"] for f in frames if f.type == "STATE_SNAPSHOT"][-1])


def test_first_turn_build_and_approval_match_the_offline_run(
    bedrock: Any, make_harness: Any, tmp_path: Path
) -> None:
    fake, harness = bedrock()
    offline = make_harness(None, DATA_DIR=str(tmp_path / "offline"))

    first, expected = harness.chat(FIRST), offline.chat(FIRST)
    check_stream(first)
    assert shape(first) == shape(expected)
    assert tool_calls(first) == tool_calls(expected) and text_of(first) == text_of(expected)
    assert {r.role for r in fake.requests} == {"router", "orchestrator"}
    assert all(r.operation == "ConverseStream" for r in fake.requests)

    build, expected = harness.chat("build it"), offline.chat("build it")
    check_stream(build)
    assert shape(build) == shape(expected) and _snapshot(build)["phase"] == "building"
    watched, expected = harness.action("watch"), offline.action("watch")
    check_stream(watched)
    # The offline build may finish before its watch opens; compare where both builds ended.
    assert _snapshot(watched)["phase"] == _snapshot(expected)["phase"] == "refinement"
    assert _snapshot(watched)["canvas"] == _snapshot(expected)["canvas"]
    assert fake.by_role("builder"), "the modules were built by Bedrock builders"

    for h in (harness, offline):
        h.chat(TWELVE, sid=SID2)
    paused = harness.chat("build it", sid=SID2)
    expected = offline.chat("build it", sid=SID2)
    check_stream(paused)
    assert shape(paused) == shape(expected)
    assert paused[-1].event["outcome"]["type"] == "interrupt"
    item = paused[-1].event["outcome"]["interrupts"][0]
    resumed = harness.action("resume_interrupt", sid=SID2, interrupt_id=item["id"], decision="approve")
    check_stream(resumed)
    assert tool_calls(resumed) == [("build_modules", {"module_indices": list(range(12))})]
    assert resumed[-1].event["outcome"] == {"type": "success"}
    for request in fake.requests:  # Bedrock would have refused any of these
        assert conversation_problems(request.messages) == [], request.role


def test_requests_carry_cache_points_and_usage_reaches_the_agent(bedrock: Any) -> None:
    fake, harness = bedrock()
    check_stream(harness.chat(FIRST))
    request = fake.by_role("orchestrator")[-1]
    system = request.body["system"]
    assert [list(block) for block in system] == [["text"], ["cachePoint"], ["text"]]
    assert "## The canvas now" in system[2]["text"] and "## The canvas now" not in system[0]["text"]
    tools = request.body["toolConfig"]["tools"]
    assert "cachePoint" in tools[-1], "a cache point after the tool specs"
    entry = harness.services.cache.get("0f4e8c1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b")
    agent = entry.agents["playbook_orchestrator"][0]
    usage = [m["metadata"]["usage"] for m in agent.messages if m["role"] == "assistant" and "metadata" in m]
    assert usage and usage[-1]["inputTokens"] == fake.by_role("orchestrator")[-1].input_tokens
