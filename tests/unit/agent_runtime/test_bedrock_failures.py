"""Bedrock failures and early ends, at the wire: one plain error code, the canvas intact, and a
conversation Bedrock still accepts on the next turn — in memory and as stored.

The fake refuses a malformed conversation exactly as Bedrock does (``ValidationException``), so
"the next turn works" here means Bedrock would have accepted it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from typing import Any

import pytest
from strands.event_loop._retry import ModelRetryStrategy

from agent_runtime import budget as budget_module
from agent_runtime.agents import _common
from agent_runtime.contract import ErrorCode
from agent_runtime.models.conversation import conversation_problems
from tests.support.bedrock_fake import Fault
from tests.support.sse import Frame, check_stream, custom, text_of, tool_calls
from tests.unit.agent_runtime.conftest import SID

FIRST = "Onboard new clients with a kickoff call, document collection and a 30-day review"
RENAME = "rename the playbook to Client Welcome"


def _snapshot(frames: list[Frame]) -> dict[str, Any]:
    return dict([f.event["snapshot"] for f in frames if f.type == "STATE_SNAPSHOT"][-1])


def _errors(frames: list[Frame]) -> list[str]:
    return [str(f.event["code"]) for f in frames if f.type == "RUN_ERROR"]


def _messages(harness: Any) -> list[dict[str, Any]]:
    entry = harness.services.cache.get(SID)
    return list(entry.agents["playbook_orchestrator"][0].messages)


def _next_turn_works(fake: Any, harness: Any) -> None:
    frames = harness.chat(RENAME)
    check_stream(frames)
    assert frames[-1].type == "RUN_FINISHED", _errors(frames)
    assert ("update_playbook", {"title": "Client Welcome"}) in tool_calls(frames)
    assert fake.by_role("orchestrator")[-1].answered == "ok"
    assert conversation_problems(_messages(harness)) == []


def _stored_conversation_works(bedrock: Any) -> None:
    """A second runtime on the same store (a cache miss) loads the conversation; Bedrock accepts it."""
    fake, other = bedrock()
    frames = other.chat("rename the playbook to Stored Welcome")
    check_stream(frames)
    assert frames[-1].type == "RUN_FINISHED", _errors(frames)
    assert conversation_problems(fake.by_role("orchestrator")[0].messages) == []


def _in_background(harness: Any, prompt: str) -> concurrent.futures.Future[list[Frame]]:
    pool = concurrent.futures.ThreadPoolExecutor(1)
    future = pool.submit(harness.chat, prompt)
    pool.shutdown(wait=False)
    return future


# --- errors ---------------------------------------------------------------------------------


def test_a_throttle_before_any_output_is_retried_and_succeeds(bedrock: Any) -> None:
    fake, harness = bedrock()
    fake.add(Fault("throttle", role="orchestrator", times=2))
    frames = harness.chat(FIRST)
    check_stream(frames)
    assert frames[-1].type == "RUN_FINISHED"
    assert [r.answered for r in fake.by_role("orchestrator")][:3] == ["throttle", "throttle", "ok"]
    retries = custom(frames, "model.retry")
    assert [r["attempt"] for r in retries] == [1, 2] and all(r["withdrawn"] == [] for r in retries)
    assert text_of(frames).count("Here") == 1
    assert tool_calls(frames)[0][0] == "set_playbook_outline"


def test_a_throttle_mid_stream_withdraws_the_partial_text_and_shows_the_answer_once(
    bedrock: Any, make_harness: Any, tmp_path: Any
) -> None:
    fake, harness = bedrock()
    # The first answer is the outline (a tool call); the second one starts with text.
    fake.add(Fault("throttle", role="orchestrator", after_chars=6, skip=1))
    frames = harness.chat(FIRST)
    check_stream(frames)
    assert frames[-1].type == "RUN_FINISHED"
    (retry,) = custom(frames, "model.retry")
    (withdrawn,) = retry["withdrawn"]
    texts: dict[str, str] = {}
    for f in frames:
        if f.type == "TEXT_MESSAGE_CONTENT":
            texts[f.event["messageId"]] = texts.get(f.event["messageId"], "") + f.event["delta"]
    partial = texts.pop(withdrawn)
    shown = "".join(texts.values())
    offline = make_harness(None, DATA_DIR=str(tmp_path / "offline")).chat(FIRST)
    assert partial and shown == text_of(offline), "after the withdrawn message, the answer shows exactly once"
    retry_at = next(
        i for i, f in enumerate(frames) if f.type == "CUSTOM" and f.event["name"] == "model.retry"
    )
    ends = [
        i for i, f in enumerate(frames) if f.type == "TEXT_MESSAGE_END" and f.event["messageId"] == withdrawn
    ]
    assert ends and ends[0] < retry_at, "the partial message is closed before the notice"
    assert tool_calls(frames) == tool_calls(offline)


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Fault("throttle", role="orchestrator", times=99), ErrorCode.MODEL_THROTTLED),
        (Fault("throttle", role="orchestrator", after_chars=6, times=99), ErrorCode.MODEL_THROTTLED),
        (Fault("access_denied", role="orchestrator"), ErrorCode.MODEL_ACCESS_DENIED),
        (Fault("too_long", role="orchestrator", times=99), ErrorCode.CONTEXT_TOO_LONG),
        (Fault("stream_error", role="orchestrator", after_chars=6), ErrorCode.MODEL_ERROR),
    ],
    ids=["throttled", "throttled-mid-stream", "access-denied", "too-long", "stream-error"],
)
def test_each_model_error_is_one_run_error_with_the_canvas_intact(
    bedrock: Any, fault: Fault, code: str
) -> None:
    fake, harness = bedrock()
    first = harness.chat(FIRST)
    before = _snapshot(first)
    fake.add(fault)
    frames = harness.chat(RENAME)
    check_stream(frames)
    assert _errors(frames) == [code] and frames[-1].type == "RUN_ERROR"
    assert frames[-1].event["message"] and "Exception" not in frames[-1].event["message"]
    assert _snapshot(frames)["canvas"] == before["canvas"]
    fault.times = 0
    _next_turn_works(fake, harness)
    _stored_conversation_works(bedrock)


def test_an_answer_cut_at_max_tokens_ends_the_turn_cleanly(bedrock: Any) -> None:
    fake, harness = bedrock()
    check_stream(harness.chat(FIRST))
    fake.add(Fault("max_tokens", role="orchestrator", after_chars=10))
    frames = harness.chat(RENAME)
    check_stream(frames)
    # Strands refuses a reply cut off in the middle (MaxTokensReachedException): one plain error.
    assert _errors(frames) == [ErrorCode.MODEL_ERROR]
    assert "cut off" in frames[-1].event["message"]
    _next_turn_works(fake, harness)


# --- early ends -----------------------------------------------------------------------------


def test_stop_while_the_model_streams_leaves_a_valid_conversation(bedrock: Any) -> None:
    fake, harness = bedrock()
    check_stream(harness.chat(FIRST))
    gate = threading.Event()
    hang = fake.add(Fault("hang", role="orchestrator", after_chars=6, gate=gate))
    running = _in_background(harness, RENAME)
    assert hang.reached.wait(10)
    check_stream(harness.action("stop"))
    gate.set()
    frames = running.result(10)
    check_stream(frames)
    assert custom(frames, "run.cancelled") == [{"reason": "stop"}]
    _next_turn_works(fake, harness)
    _stored_conversation_works(bedrock)


def test_budget_reached_while_waiting_to_retry_a_throttle_ends_at_once(
    bedrock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The retry would wait at least 15 s and the hard deadline is 30 s past the budget: only a
    # wait that honours the stop flag ends this turn within seconds.
    monkeypatch.setattr(budget_module, "HARD_DEADLINE_GRACE_S", 30.0)
    slow_retry = {"retry": {"initial_delay_seconds": 30, "max_delay_seconds": 60}}
    fake, harness = bedrock({"playbook_orchestrator": slow_retry}, TURN_BUDGET_SECONDS="4")
    first = harness.chat(FIRST)
    assert first[-1].type == "RUN_FINISHED"
    fake.add(Fault("throttle", role="orchestrator", after_chars=6))
    started = time.monotonic()
    frames = harness.chat(RENAME)
    elapsed = time.monotonic() - started
    check_stream(frames)
    assert _errors(frames) == [ErrorCode.BUDGET_EXCEEDED]
    assert custom(frames, "model.retry"), "the throttle was being retried"
    assert elapsed < 12, f"the back-off wait ignored the budget ({elapsed:.1f} s)"
    _next_turn_works(fake, harness)
    _stored_conversation_works(bedrock)


def test_running_out_of_cycles_after_the_tools_ran_leaves_a_valid_conversation(bedrock: Any) -> None:
    # One model call: the outline tool runs, then the cycle cap stops the turn with the tool
    # results as the last message — the next prompt would make two user messages in a row.
    fake, harness = bedrock(MAX_AGENT_CYCLES="1")
    frames = harness.chat(FIRST)
    check_stream(frames)
    assert _errors(frames) == [ErrorCode.BUDGET_EXCEEDED]
    assert _snapshot(frames)["canvas"]["modules"], "the outline that ran stays"
    assert conversation_problems(_messages(harness)) == []
    frames = harness.chat(RENAME)  # one cycle again: the rename runs, Bedrock accepted the request
    assert ("update_playbook", {"title": "Client Welcome"}) in tool_calls(frames)
    assert fake.by_role("orchestrator")[-1].answered == "ok"
    _stored_conversation_works(bedrock)  # a runtime without the cap continues the stored session


def test_the_hard_deadline_cancelling_the_task_leaves_a_valid_conversation(
    bedrock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Strands' stock retry strategy sleeps through a stop (the bug this issue reported): the
    # turn only ends when the hard deadline cancels its task — CancelledError in the orchestrator.
    monkeypatch.setattr(budget_module, "HARD_DEADLINE_GRACE_S", 0.5)
    monkeypatch.setattr(
        _common, "make_retry", lambda _: ModelRetryStrategy(max_attempts=3, initial_delay=30, max_delay=30)
    )
    fake, harness = bedrock(TURN_BUDGET_SECONDS="4")
    first = harness.chat(FIRST)
    assert first[-1].type == "RUN_FINISHED"
    fake.add(Fault("throttle", role="orchestrator", after_chars=6))
    started = time.monotonic()
    frames = harness.chat(RENAME)
    assert time.monotonic() - started < 20, "ended by the deadline, not by the 30 s sleep"
    check_stream(frames)
    assert _errors(frames) == [ErrorCode.BUDGET_EXCEEDED]
    assert _snapshot(frames)["canvas"] == _snapshot(first)["canvas"]
    assert conversation_problems(_messages(harness)) == []
    assert "abandoned at its deadline" in _messages(harness)[-1]["content"][0]["text"]
    _next_turn_works(fake, harness)
    _stored_conversation_works(bedrock)


def test_a_client_that_leaves_mid_turn_leaves_a_valid_conversation(bedrock: Any) -> None:
    fake, harness = bedrock()
    gate = threading.Event()
    hang = fake.add(Fault("hang", role="orchestrator", after_chars=6, skip=1, gate=gate))
    body = {"session_id": SID, "token": harness.token(), "action": "chat", "prompt": FIRST}
    stream = asyncio.run_coroutine_threadsafe(harness.dispatcher.dispatch(body, SID), harness.loop).result(10)

    async def read_until_text_then_leave() -> bytes:
        seen = b""
        async for chunk in stream:
            seen += chunk
            if b"TEXT_MESSAGE_CONTENT" in seen:
                break
        await stream.aclose()  # type: ignore[attr-defined]
        return seen

    seen = asyncio.run(read_until_text_then_leave())
    assert hang.reached.wait(10) and b"TEXT_MESSAGE_CONTENT" in seen
    control = harness.services.cache.get(SID).turn
    assert control is not None and control.reason == "disconnect"
    gate.set()  # the model stream goes on; the runtime notices the cancel at the next chunk
    assert control.done.wait(10)
    _next_turn_works(fake, harness)
    _stored_conversation_works(bedrock)


def test_a_cancelled_turn_task_ends_the_stream_as_cancelled_and_leaves_a_valid_conversation(
    bedrock: Any,
) -> None:
    fake, harness = bedrock()
    check_stream(harness.chat(FIRST))
    gate = threading.Event()
    hang = fake.add(Fault("hang", role="orchestrator", after_chars=6, skip=1, gate=gate))
    running = _in_background(harness, "Start over with an incident response playbook")
    assert hang.reached.wait(10)

    def cancel_turn_tasks() -> int:
        tasks = [t for t in asyncio.all_tasks(harness.loop) if t.get_coro().__qualname__ == "TurnRunner._run"]
        for task in tasks:
            task.cancel()  # what the runtime's shutdown does to a running turn
        return len(tasks)

    async def cancel() -> int:
        return cancel_turn_tasks()

    assert asyncio.run_coroutine_threadsafe(cancel(), harness.loop).result(5) == 1
    frames = running.result(10)
    gate.set()
    check_stream(frames)
    assert custom(frames, "run.cancelled") == [{"reason": "shutdown"}]
    assert conversation_problems(_messages(harness)) == []
    _next_turn_works(fake, harness)
    _stored_conversation_works(bedrock)
