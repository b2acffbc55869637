"""The conventions of the runtime's prompts and messages, shared by whoever writes or reads them.

The agents write the canvas context into system prompts (:func:`render_context`) and approvals write
decision notes into tool results (:func:`decision_note`); the offline model reads both back, and
reads a Strands conversation (the current prompt, the replies so far, the last tool error). Replies
are streamed in pieces cut by :func:`split_text`, by the models and by the AG-UI event factory.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from strands.types.content import Messages

__all__ = [
    "current_prompt",
    "first_prompt",
    "replies_since_prompt",
    "last_tool_error",
    "render_context",
    "parse_context",
    "decision_note",
    "parse_decision_note",
    "decision_since_prompt",
    "DecisionNote",
    "split_text",
]

_CONTEXT_RE = re.compile(r"```json\n(\{.*\})\n```\s*\Z", re.S)
_DECISION_RE = re.compile(r"^\[approval:(?P<decision>[a-z_]+)\|(?P<summary>[^\]]*)\]")
_DECISION_CONTEXT_RE = re.compile(r"<<<(?P<context>.*)>>>\s*\Z", re.S)
_DECISION_TEXT = {
    "reject": (
        "The person rejected this action at the approval step, so it was not run. Do not retry it: "
        "tell them nothing was done and ask what they would like instead."
    ),
    "add_context": (
        "The person did not approve this action as proposed and added instructions. It was not run; "
        "follow their instructions instead:"
    ),
    "reroute": "The person handed this request back to the router, so it was not run.",
    "superseded": "The person sent a new message instead of answering the approval request; it was not run.",
    "expired": "The approval request expired before anyone answered; it was not run.",
}


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


@dataclass(frozen=True)
class DecisionNote:
    """A person's approval decision as the model reads it in a tool result.

    Attributes:
        decision: ``reject``, ``add_context``, ``reroute``, ``superseded`` or ``expired``.
        summary: The paused action in a few words ("build 12 modules").
        context: The person's extra words, if any.
        replies_after: Assistant messages since the note (which planned reply comes next).
    """

    decision: str
    summary: str
    context: str | None
    replies_after: int = 0


def decision_note(decision: str, summary: str, context: str | None) -> str:
    """The tool-result text for a paused call the person did not approve.

    Read by any model as an instruction, and parsed back by :func:`parse_decision_note`.
    """
    summary = " ".join(summary.replace("]", ")").replace("|", "/").split())
    text = f"[approval:{decision}|{summary}] {_DECISION_TEXT.get(decision, 'It was not run.')}"
    if context and context.strip():
        lead = "" if decision == "add_context" else " Their note:"
        text += f"{lead} <<<{context.strip()}>>>"
    return text


def parse_decision_note(text: str) -> DecisionNote | None:
    """The decision in a tool-result text written by :func:`decision_note`, else ``None``."""
    match = _DECISION_RE.match(text.strip())
    if match is None:
        return None
    found = _DECISION_CONTEXT_RE.search(text)
    context = found.group("context").strip() if found else None
    return DecisionNote(match.group("decision"), match.group("summary"), context or None)


def decision_since_prompt(messages: Messages) -> DecisionNote | None:
    """The latest approval decision after the latest prompt, with the replies made since."""
    start = _prompt_index(messages)
    for index in range(len(messages) - 1, start, -1):
        message = messages[index]
        if message["role"] != "user":
            continue
        for block in message.get("content", []):
            result = block.get("toolResult")
            if not result or result.get("status") != "error":
                continue
            text = " ".join(item.get("text", "") for item in result.get("content", []) if "text" in item)
            note = parse_decision_note(text)
            if note is not None:
                after = sum(1 for m in messages[index + 1 :] if m["role"] == "assistant")
                return DecisionNote(note.decision, note.summary, note.context, after)
    return None


def split_text(text: str, size: int) -> list[str]:
    """Split ``text`` into pieces of about ``size`` characters at spaces (for streaming)."""
    pieces: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = word if not current else f"{current} {word}"
        if current and len(candidate) > size:
            pieces.append(current + " ")
            current = word
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces
