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
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from strands.agent.conversation_manager import (
    ConversationManager,
    NullConversationManager,
    SlidingWindowConversationManager,
    SummarizingConversationManager,
)
from strands.agent.conversation_manager.conversation_manager import ProactiveCompressionConfig

from agent_runtime.models.retry import ModelRetry

__all__ = ["ConversationSettings", "RetrySettings", "make_conversation_manager", "make_retry"]


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


def make_conversation_manager(settings: ConversationSettings) -> ConversationManager:
    """A fresh Strands conversation manager for one agent."""
    compression: ProactiveCompressionConfig = {"compression_threshold": settings.compress_at}
    if settings.manager == "none":
        return NullConversationManager()
    if settings.manager == "summarizing":
        return SummarizingConversationManager(
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
