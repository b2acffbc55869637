"""The transcript a joining page shows: the person's and the assistant's text, from the conversation.

A ``watch`` that joins a session (no ``Last-Event-ID``) opens with AG-UI's ``MESSAGES_SNAPSHOT``
(DESIGN §7). Its messages come from the orchestrator's conversation — the one the session store
keeps, so a page that joins after a runtime restart sees the same transcript:

* a user message whose content has text is one ``user`` message (its text blocks joined); user
  messages that only carry tool results or interrupt responses are not shown;
* an assistant message with text is one ``assistant`` message (tool uses are not shown: their
  effect is the canvas, which the ``STATE_SNAPSHOT`` after it carries).

Ids are stable: ``msg-<n>`` where ``n`` is the message's position in the whole conversation
(messages a conversation manager dropped from the window still count), so every join names the
same message the same way.
"""

from __future__ import annotations

from typing import Any

from agent_runtime.agents.registry import ORCHESTRATOR
from agent_runtime.session.cache import SessionEntry

__all__ = ["transcript", "MAX_TRANSCRIPT_MESSAGES"]

MAX_TRANSCRIPT_MESSAGES = 200
"""The most recent messages a snapshot carries (the page keeps as many)."""


def _text(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    parts = [str(block["text"]) for block in content or [] if isinstance(block, dict) and "text" in block]
    return "\n".join(p for p in parts if p.strip()).strip()


def transcript(entry: SessionEntry) -> list[dict[str, str]]:
    """``[{"id", "role", "content"}]`` of the session's conversation, oldest first (at most 200).

    Empty for a session the orchestrator has not answered yet (only the router spoke, or a new one).
    """
    cached = entry.agents.get(ORCHESTRATOR)
    if cached is None:
        return []
    agent = cached[0]
    messages = list(agent.messages)  # a copy: a turn may append meanwhile
    offset = int(getattr(agent.conversation_manager, "removed_message_count", 0) or 0)
    out: list[dict[str, str]] = []
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            continue
        text = _text(message)
        if text:
            out.append({"id": f"msg-{offset + index}", "role": str(role), "content": text})
    return out[-MAX_TRANSCRIPT_MESSAGES:]
