"""Reading a Strands conversation: the current prompt, the replies so far, the last tool result."""

from __future__ import annotations

import json
import re
from typing import Any

from strands.types.content import Messages

__all__ = [
    "current_prompt",
    "first_prompt",
    "replies_since_prompt",
    "last_tool_error",
    "render_context",
    "parse_context",
]

_CONTEXT_RE = re.compile(r"```json\n(\{.*\})\n```\s*\Z", re.S)


def _text_of(message: Any) -> str | None:
    texts = [block["text"] for block in message.get("content", []) if "text" in block]
    return "\n".join(texts) if texts else None


def _prompt_index(messages: Messages) -> int:
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message["role"] == "user" and _text_of(message) is not None:
            return index
    return -1


def current_prompt(messages: Messages) -> str:
    """The text of the latest user message that is a prompt (not only tool results)."""
    index = _prompt_index(messages)
    return (_text_of(messages[index]) or "") if index >= 0 else ""


def first_prompt(messages: Messages) -> str:
    """The text of the first user prompt (single-turn agents such as the router)."""
    for message in messages:
        if message["role"] == "user":
            text = _text_of(message)
            if text is not None:
                return text
    return ""


def replies_since_prompt(messages: Messages) -> int:
    """How many assistant messages follow the latest prompt."""
    index = _prompt_index(messages)
    return sum(1 for message in messages[index + 1 :] if message["role"] == "assistant")


def last_tool_error(messages: Messages) -> str | None:
    """The text of the last tool result when the conversation ends with a failed tool call."""
    if not messages or messages[-1]["role"] != "user":
        return None
    for block in messages[-1].get("content", []):
        result = block.get("toolResult")
        if result and result.get("status") == "error":
            parts = [item.get("text", "") for item in result.get("content", []) if "text" in item]
            return " ".join(parts).strip() or "the tool call failed"
    return None


def render_context(data: dict[str, Any]) -> str:
    """A fenced JSON block that ends a system prompt; the offline model reads it back."""
    return "```json\n" + json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n```\n"


def parse_context(system_prompt: str | None) -> dict[str, Any]:
    """The JSON block :func:`render_context` put at the end of a system prompt (``{}`` if none)."""
    if not system_prompt:
        return {}
    start = system_prompt.rfind("```json\n")
    if start < 0:
        return {}
    match = _CONTEXT_RE.match(system_prompt, start)
    if not match:
        return {}
    try:
        value = json.loads(match.group(1))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
