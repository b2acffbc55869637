"""Turning a planned reply into the Bedrock-shaped stream events Strands consumes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from strands.types.streaming import StreamEvent

from agent_runtime.messages import split_text

__all__ = ["reply_events"]


def reply_events(
    text: str | None,
    tool_calls: Sequence[tuple[str, dict[str, Any]]],
    *,
    chunk_chars: int = 24,
    input_tokens: int = 0,
) -> Iterator[StreamEvent]:
    """The events of one model response: optional text in small deltas, then tool uses.

    A response with neither text nor tool calls is a bare ``end_turn`` (no empty text block).
    """
    yield {"messageStart": {"role": "assistant"}}
    output_chars = 0
    if text:
        yield {"contentBlockStart": {"start": {}}}
        for piece in split_text(text, chunk_chars):
            yield {"contentBlockDelta": {"delta": {"text": piece}}}
        yield {"contentBlockStop": {}}
        output_chars += len(text)
    for name, args in tool_calls:
        tool_use_id = f"tooluse_{uuid.uuid4().hex[:20]}"
        payload = json.dumps(args, ensure_ascii=False)
        yield {"contentBlockStart": {"start": {"toolUse": {"toolUseId": tool_use_id, "name": name}}}}
        yield {"contentBlockDelta": {"delta": {"toolUse": {"input": payload}}}}
        yield {"contentBlockStop": {}}
        output_chars += len(payload)
    yield {"messageStop": {"stopReason": "tool_use" if tool_calls else "end_turn"}}
    output_tokens = max(1, output_chars // 4)
    yield {
        "metadata": {
            "usage": {
                "inputTokens": input_tokens,
                "outputTokens": output_tokens,
                "totalTokens": input_tokens + output_tokens,
            },
            "metrics": {"latencyMs": 0},
        }
    }
