"""Units behind the Bedrock path: error codes, the retry strategy, conversation repair, the
throttle notice in the stream translator, and the fake's event-stream encoding."""

from __future__ import annotations

import asyncio
import random
import threading
from typing import Any

import pytest
import strands
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer
from botocore.exceptions import ClientError, EventStreamError
from strands.hooks import AfterModelCallEvent
from strands.types.exceptions import ContextWindowOverflowException, ModelThrottledException

from agent_runtime.contract import ErrorCode
from agent_runtime.events.translate import StreamTranslator
from agent_runtime.models.conversation import (
    BLANK_REPLY,
    TOO_LONG_PLACEHOLDER,
    close_conversation,
    conversation_problems,
    fill_blank_reply,
)
from agent_runtime.models.failures import model_fault
from agent_runtime.models.retry import ModelRetry
from tests.support.bedrock_fake import bedrock_refusal, encode_event, encode_exception

# --- error codes ----------------------------------------------------------------------------


def _client_error(code: str, message: str = "boom") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "ConverseStream")


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (ModelThrottledException("slow down"), ErrorCode.MODEL_THROTTLED),
        (_client_error("ThrottlingException"), ErrorCode.MODEL_THROTTLED),
        (ContextWindowOverflowException("too long"), ErrorCode.CONTEXT_TOO_LONG),
        (_client_error("AccessDeniedException", "You don't have access"), ErrorCode.MODEL_ACCESS_DENIED),
        (
            EventStreamError({"Error": {"Code": "modelStreamErrorException"}}, "ConverseStream"),
            ErrorCode.MODEL_ERROR,
        ),
        (
            _client_error("ValidationException", "The provided model identifier is invalid"),
            ErrorCode.MODEL_ERROR,
        ),
        (RuntimeError("anything else"), ErrorCode.MODEL_ERROR),
    ],
)
def test_model_errors_map_to_plain_codes(exc: BaseException, code: str) -> None:
    fault = model_fault(exc)
    assert fault.code == code
    assert "Exception" not in fault.message and "boom" not in fault.message


def test_a_wrapped_cause_is_recognised() -> None:
    try:
        try:
            raise _client_error("AccessDeniedException")
        except ClientError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert model_fault(outer).code == ErrorCode.MODEL_ACCESS_DENIED


# --- the retry strategy ---------------------------------------------------------------------


class _Agent:
    def __init__(self) -> None:
        self.cancel_signal = threading.Event()


def _failed_call(agent: _Agent, exc: Exception) -> AfterModelCallEvent:
    return AfterModelCallEvent(agent=agent, invocation_state={}, exception=exc)  # type: ignore[arg-type]


def test_the_installed_strands_still_has_the_retry_hook_this_adapter_overrides() -> None:
    from strands.event_loop._retry import ModelRetryStrategy

    assert strands.__name__ == "strands"
    assert hasattr(ModelRetryStrategy, "_handle_after_model_call")
    assert {"_current_attempt", "_max_attempts", "_backwards_compatible_event_to_yield"} <= set(
        vars(ModelRetryStrategy(max_attempts=2))
    )


def test_delays_back_off_exponentially_with_jitter_and_a_cap() -> None:
    retry = ModelRetry(initial_delay=2, max_delay=10, rng=random.Random(7))
    for attempt, base in enumerate([2, 4, 8, 10, 10]):
        samples = [retry.delay_for(attempt) for _ in range(50)]
        assert all(base / 2 <= d <= base for d in samples), (attempt, samples)
        assert len({round(d, 6) for d in samples}) > 1, "jittered"


def test_a_throttle_is_retried_after_a_notice_and_gives_up_after_max_attempts() -> None:
    retry = ModelRetry(max_attempts=3, initial_delay=0.01, max_delay=0.02)
    notices: list[dict[str, Any]] = []
    retry.on_retry = notices.append
    agent = _Agent()

    async def run() -> list[bool]:
        out = []
        for _ in range(3):
            event = _failed_call(agent, ModelThrottledException("slow"))
            await retry._handle_after_model_call(event)
            out.append(event.retry)
        return out

    assert asyncio.run(run()) == [True, True, False]
    assert [n["attempt"] for n in notices] == [1, 2]
    assert all(0 < n["event_loop_throttled_delay"] <= 0.02 for n in notices)


def test_other_errors_are_not_retried() -> None:
    retry = ModelRetry(initial_delay=0.01)
    event = _failed_call(_Agent(), RuntimeError("no"))
    asyncio.run(retry._handle_after_model_call(event))
    assert event.retry is False


def test_a_stop_during_the_wait_ends_it_without_a_retry() -> None:
    retry = ModelRetry(max_attempts=4, initial_delay=60, max_delay=60)
    agent = _Agent()
    waiting = threading.Event()
    retry.on_retry = lambda _: waiting.set()

    async def run() -> AfterModelCallEvent:
        event = _failed_call(agent, ModelThrottledException("slow"))
        task = asyncio.ensure_future(retry._handle_after_model_call(event))
        while not waiting.is_set():
            await asyncio.sleep(0)
        agent.cancel_signal.set()  # the stop arrives while the strategy waits 30-60 s
        await asyncio.wait_for(task, 2)
        return event

    assert asyncio.run(run()).retry is False


# --- conversation repair --------------------------------------------------------------------


class _Hooks:
    def __init__(self) -> None:
        self.added: list[Any] = []

    def invoke_callbacks(self, event: Any) -> None:
        self.added.append(event.message)


class _Manager:
    def __init__(self) -> None:
        self.redacted: list[Any] = []

    def redact_latest_message(self, message: Any, agent: Any) -> None:
        self.redacted.append(message)


class _ConvAgent:
    def __init__(self, messages: list[Any]) -> None:
        self.messages = messages
        self.hooks = _Hooks()
        self._session_manager = _Manager()


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}]}


def _tool_use(tid: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": [{"toolUse": {"toolUseId": tid, "name": "add_module", "input": {}}}],
    }


def _tool_result(tid: str) -> dict[str, Any]:
    return {
        "role": "user",
        "content": [{"toolResult": {"toolUseId": tid, "status": "success", "content": []}}],
    }


@pytest.mark.parametrize(
    "messages",
    [
        [_user("hi")],  # cancelled before the model answered
        [_user("hi"), _tool_use("t1")],  # stopped between the tool use and its result
        [_user("hi"), _tool_use("t1"), _tool_result("t1")],  # out of cycles after the tools ran
    ],
    ids=["unanswered-prompt", "unanswered-tool-use", "tool-results-last"],
)
def test_closing_appends_what_makes_the_conversation_valid(messages: list[Any]) -> None:
    agent = _ConvAgent(messages)
    assert conversation_problems(messages + [_user("next")]) != []
    added = close_conversation(agent, "stop")
    assert added >= 1 and agent.hooks.added == messages[-added:], "appended through the store's hook"
    assert conversation_problems(messages + [_user("next")]) == []
    assert "Stopped" in messages[-1]["content"][0]["text"]


def test_a_valid_ending_is_left_alone() -> None:
    messages = [_user("hi"), {"role": "assistant", "content": [{"text": "Hello"}]}]
    agent = _ConvAgent(messages)
    assert close_conversation(agent, "stop") == 0 and len(messages) == 2


def test_a_too_long_prompt_is_replaced_in_memory_and_in_the_store() -> None:
    messages = [_user("x" * 10_000)]
    agent = _ConvAgent(messages)
    close_conversation(agent, "too_long", too_long=True)
    assert messages[0]["content"] == [{"text": TOO_LONG_PLACEHOLDER}]
    assert agent._session_manager.redacted[0]["content"] == [{"text": TOO_LONG_PLACEHOLDER}]
    assert conversation_problems(messages) == []


def test_a_blank_final_reply_is_filled() -> None:
    messages = [_user("hi"), {"role": "assistant", "content": []}]
    agent = _ConvAgent(messages)
    assert "message 1 has no content" in conversation_problems(messages)
    assert fill_blank_reply(agent) is True
    assert messages[-1]["content"] == [{"text": BLANK_REPLY}] and conversation_problems(messages) == []
    assert agent._session_manager.redacted


def test_problems_match_what_the_fake_bedrock_refuses() -> None:
    broken = [
        [_user("a"), _user("b")],
        [{"role": "assistant", "content": [{"text": "x"}]}],
        [_user("a"), _tool_use("t1"), _user("b")],
        [_user("a"), {"role": "assistant", "content": [{"text": "  "}]}, _user("b")],
    ]
    for messages in broken:
        assert conversation_problems(messages) and bedrock_refusal(messages), messages
    fine = [
        _user("a"),
        _tool_use("t1"),
        _tool_result("t1"),
        {"role": "assistant", "content": [{"text": "ok"}]},
    ]
    assert conversation_problems(fine) == [] and bedrock_refusal(fine) is None


# --- the stream translator ------------------------------------------------------------------


class _Emitter:
    def __init__(self) -> None:
        self.events: list[Any] = []
        self._open: str | None = None
        self._n = 0

    @property
    def open_message_id(self) -> str | None:
        return self._open

    def text(self, delta: str) -> None:
        if self._open is None:
            self._n += 1
            self._open = f"m{self._n}"
            self.events.append(("start", self._open))
        self.events.append(("text", delta))

    def end_text(self) -> None:
        if self._open is not None:
            self.events.append(("end", self._open))
            self._open = None

    def emit(self, *events: Any) -> None:
        self.events.extend(("custom", e.name, e.value) for e in events)


def test_a_throttle_withdraws_only_the_failed_attempts_text() -> None:
    emitter = _Emitter()
    translate = StreamTranslator(emitter)  # type: ignore[arg-type]
    translate({"event": {"messageStart": {"role": "assistant"}}})
    translate({"data": "Done with ", "delta": {"text": "Done with "}})
    translate({"event": {"messageStop": {"stopReason": "tool_use"}}})  # an earlier, complete answer
    translate({"event": {"messageStart": {"role": "assistant"}}})
    translate({"data": "Ren", "delta": {"text": "Ren"}})
    translate({"event_loop_throttled_delay": 2.5, "attempt": 1})
    assert emitter.events[-2:] == [
        ("end", "m2"),
        ("custom", "model.retry", {"attempt": 1, "delay_seconds": 2.5, "withdrawn": ["m2"]}),
    ]
    translate({"event_loop_throttled_delay": 5, "attempt": 2})  # throttled again before any output
    assert emitter.events[-1] == (
        "custom",
        "model.retry",
        {"attempt": 2, "delay_seconds": 5, "withdrawn": []},
    )


def test_a_throttle_before_the_next_answer_keeps_the_previous_answer() -> None:
    emitter = _Emitter()
    translate = StreamTranslator(emitter)  # type: ignore[arg-type]
    translate({"event": {"messageStart": {"role": "assistant"}}})
    translate({"data": "Here's the outline.", "delta": {"text": "Here's the outline."}})
    translate({"event": {"messageStop": {"stopReason": "tool_use"}}})
    translate({"event_loop_throttled_delay": 1.0, "attempt": 1})  # the next call is throttled at once
    assert emitter.events[-1] == (
        "custom",
        "model.retry",
        {"attempt": 1, "delay_seconds": 1.0, "withdrawn": []},
    )


def test_usage_metadata_passes_through_untouched() -> None:
    emitter = _Emitter()
    event = {"event": {"metadata": {"usage": {"inputTokens": 5, "outputTokens": 2, "totalTokens": 7}}}}
    StreamTranslator(emitter)(event)  # type: ignore[arg-type]
    assert emitter.events == [] and event["event"]["metadata"]["usage"]["totalTokens"] == 7


# --- the fake's event-stream encoding, parsed by botocore -----------------------------------


def test_encoded_frames_parse_with_botocore_and_checksums_are_checked() -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(encode_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "hé"}}))
    buffer.add_data(encode_exception("throttlingException", "slow down"))
    first, second = list(buffer)
    assert first.headers[":event-type"] == "contentBlockDelta" and b'"h\\u00e9"' in first.payload
    assert second.headers[":message-type"] == "exception"
    assert second.headers[":exception-type"] == "throttlingException"
    frame = bytearray(encode_event("messageStop", {"stopReason": "end_turn"}))
    frame[-6] ^= 1  # corrupt the payload
    broken = EventStreamBuffer()
    broken.add_data(bytes(frame))
    with pytest.raises(ChecksumMismatch):
        list(broken)


# --- Converse (non-streaming) through the fake ----------------------------------------------


def test_the_fake_answers_converse_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.config import Config
    from strands.models.bedrock import BedrockModel

    from tests.support.bedrock_fake import BedrockFake

    with BedrockFake(lambda _: ("Hello there.", [("suggest_replies", {"replies": ["Build it"]})])) as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url)
        model = BedrockModel(
            model_id="us.anthropic.claude-haiku-4-5-20251001-v1:0",
            region_name="us-east-1",
            streaming=False,
            boto_client_config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )

        async def collect() -> list[Any]:
            return [e async for e in model.stream([{"role": "user", "content": [{"text": "hi"}]}])]

        events = asyncio.run(collect())
        model.client.close()
    assert fake.requests[0].operation == "Converse"
    assert {"contentBlockDelta": {"delta": {"text": "Hello there."}}} in events
    assert any(e.get("messageStop", {}).get("stopReason") == "tool_use" for e in events)
    assert any("metadata" in e and e["metadata"]["usage"]["inputTokens"] > 0 for e in events)


# --- per-agent conversation settings ---------------------------------------------------------


def test_each_agent_gets_the_conversation_manager_its_settings_name() -> None:
    from strands.agent.conversation_manager import (
        NullConversationManager,
        SlidingWindowConversationManager,
        SummarizingConversationManager,
    )

    from agent_runtime.models.context import ConversationSettings, make_conversation_manager

    sliding = make_conversation_manager(ConversationSettings(window_size=12))
    assert isinstance(sliding, SlidingWindowConversationManager) and sliding.window_size == 12
    summarizing = make_conversation_manager(ConversationSettings(manager="summarizing", preserve_recent=6))
    assert isinstance(summarizing, SummarizingConversationManager)
    assert isinstance(
        make_conversation_manager(ConversationSettings(manager="none")), NullConversationManager
    )


def test_the_packaged_agents_file_configures_every_agent(tmp_path: Any) -> None:
    from agent_runtime.agents.registry import load_registry
    from agent_runtime.config import DEFAULT_AGENTS_CONFIG
    from agent_runtime.errors import ConfigError

    registry = load_registry(DEFAULT_AGENTS_CONFIG)
    orchestrator = registry.get("playbook_orchestrator")
    assert orchestrator.conversation.manager == "sliding_window" and orchestrator.conversation.cache
    assert registry.get("router").conversation.manager == "none"
    assert all(registry.get(n).retry.max_attempts >= 2 for n in registry.names)
    text = DEFAULT_AGENTS_CONFIG.read_text(encoding="utf-8").replace(
        "manager: sliding_window", "manager: lru", 1
    )
    prompts = DEFAULT_AGENTS_CONFIG.parent / "prompts"
    broken = tmp_path / "agents.yaml"
    broken.write_text(text.replace("prompts/", f"{prompts}/"), encoding="utf-8")
    with pytest.raises(ConfigError, match="conversation.manager"):
        load_registry(broken)


def test_an_announced_mcp_call_keeps_the_orchestrators_retry_strategy() -> None:
    """Announcing a library tool call used to reset ``applier.retry``: later throttles lost their notice."""
    from agent_runtime.agents.orchestrator import OrchestratorApplier

    applier = OrchestratorApplier(entry=None, builds=None)  # type: ignore[arg-type]
    applier.retry = ModelRetry(max_attempts=3, initial_delay=0.01, max_delay=0.02)
    strategy = applier.retry
    applier.announce("tool_1", "search_playbooks", {"query": "onboarding"})
    assert applier.retry is strategy
