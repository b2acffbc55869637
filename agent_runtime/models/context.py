"""Per-agent model settings from ``agents.yaml``: the conversation manager, the token limit, retries.

``conversation`` chooses how an agent's conversation stays within the model's context window:

* ``sliding_window`` (default) — Strands' ``SlidingWindowConversationManager``: keep the last
  ``window_size`` messages (applied before every model call), and compress earlier when the next
  request is projected to pass ``compress_at`` × ``context_tokens``;
* ``summarizing`` — Strands' ``SummarizingConversationManager``: the oldest ``summary_ratio`` of
  the conversation is summarised by the same model, keeping at least ``preserve_recent`` messages;
* ``none`` — keep everything (single-turn agents such as the router).

``context_tokens`` is the limit the agent's model is configured with (``context_window_limit``);
Strands compares its projection of each request against it. ``cache`` places prompt-cache points
after the stable part of the system prompt and after the tool specs, where the model supports
prompt caching (Claude on Bedrock).

``retry`` configures :class:`~agent_runtime.models.retry.ModelRetry` (throttling retries).

Adapter note: Strands' summarising manager (1.62) sends the oldest messages *as they are* plus
"Please summarize this conversation." as a new user message, with no tool specs — Bedrock refuses
that whenever the slice ends with a user message (two user turns in a row) or holds tool blocks
(no ``toolConfig``), and keeps the summary (a user message) in front of a remaining part that may
start with another user message. :class:`BedrockSafeSummarizing` summarises a plain-text
transcript of the slice instead, and splits only before an assistant message.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from strands.agent.conversation_manager import (
    ConversationManager,
    NullConversationManager,
    SlidingWindowConversationManager,
    SummarizingConversationManager,
)
from strands.agent.conversation_manager.conversation_manager import ProactiveCompressionConfig
from strands.types.content import Message
from strands.types.exceptions import ContextWindowOverflowException

from agent_runtime.models.retry import ModelRetry

_TOOL_TEXT_CHARS = 400

__all__ = [
    "BedrockSafeSummarizing",
    "ConversationSettings",
    "RetrySettings",
    "make_conversation_manager",
    "make_retry",
    "transcript_of",
]


class ConversationSettings(BaseModel):
    """How one agent's conversation is kept within its context window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    manager: Literal["sliding_window", "summarizing", "none"] = "sliding_window"
    window_size: Annotated[int, Field(ge=2, le=1000)] = 40
    context_tokens: Annotated[int, Field(ge=1_000, le=2_000_000)] = 150_000
    compress_at: Annotated[float, Field(gt=0, le=1)] = 0.7
    summary_ratio: Annotated[float, Field(ge=0.1, le=0.8)] = 0.3
    preserve_recent: Annotated[int, Field(ge=2, le=200)] = 10
    cache: bool = True


class RetrySettings(BaseModel):
    """Throttling retries of one agent's model calls."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: Annotated[int, Field(ge=1, le=10)] = 4
    initial_delay_seconds: Annotated[float, Field(ge=0, le=60)] = 2.0
    max_delay_seconds: Annotated[float, Field(ge=0, le=300)] = 30.0


def transcript_of(messages: list[Message]) -> str:
    """A plain-text transcript of messages (tool calls and results as short bracketed lines)."""
    lines: list[str] = []
    for message in messages:
        who = "Person" if message["role"] == "user" else "Assistant"
        for block in message.get("content") or []:
            if "text" in block and str(block["text"]).strip():
                lines.append(f"{who}: {block['text']}")
            elif "toolUse" in block:
                use = block["toolUse"]
                args = json.dumps(use.get("input"), ensure_ascii=False, default=str)
                lines.append(f"Assistant called {use.get('name')} with {args[:_TOOL_TEXT_CHARS]}")
            elif "toolResult" in block:
                result = block["toolResult"]
                text = " ".join(str(c.get("text", "")) for c in result.get("content") or [] if "text" in c)
                lines.append(f"Tool result ({result.get('status', 'success')}): {text[:_TOOL_TEXT_CHARS]}")
    return "\n".join(lines)


class BedrockSafeSummarizing(SummarizingConversationManager):
    """Strands' summarising manager, with requests and results Bedrock accepts (see the module note)."""

    def _adjust_split_point_for_tool_pairs(self, messages: list[Message], split_point: int) -> int:
        split = super()._adjust_split_point_for_tool_pairs(messages, split_point)
        # The summary is a user message: what follows it must be the assistant's.
        while split < len(messages) and messages[split]["role"] != "assistant":
            split += 1
        if split >= len(messages):
            raise ContextWindowOverflowException("Cannot summarize: no assistant message to resume from")
        return split

    def _generate_summary_with_model(self, messages: list[Message], agent: Any) -> Message:
        flat: list[Message] = [
            {"role": "user", "content": [{"text": "The conversation so far:\n\n" + transcript_of(messages)}]},
            {"role": "assistant", "content": [{"text": "I have read it."}]},
        ]
        return super()._generate_summary_with_model(flat, agent)


def make_conversation_manager(settings: ConversationSettings) -> ConversationManager:
    """A fresh Strands conversation manager for one agent."""
    compression: ProactiveCompressionConfig = {"compression_threshold": settings.compress_at}
    if settings.manager == "none":
        return NullConversationManager()
    if settings.manager == "summarizing":
        return BedrockSafeSummarizing(
            summary_ratio=settings.summary_ratio,
            preserve_recent_messages=settings.preserve_recent,
            proactive_compression=compression,
        )
    return SlidingWindowConversationManager(
        window_size=settings.window_size, per_turn=True, proactive_compression=compression
    )


def make_retry(settings: RetrySettings) -> ModelRetry:
    """A fresh retry strategy for one agent."""
    return ModelRetry(
        max_attempts=settings.max_attempts,
        initial_delay=settings.initial_delay_seconds,
        max_delay=settings.max_delay_seconds,
    )
