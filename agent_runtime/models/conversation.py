"""Keeping a stored conversation valid for Bedrock, whatever way a turn ended.

Bedrock's Converse API refuses a conversation whose roles do not alternate ("A conversation must
alternate between user and assistant roles"), that does not start with a user message, whose
tool use is not answered by tool results in the next message, or that has a blank text block. A
turn that ends early — stopped, out of budget, past its deadline, the client gone, a
``CancelledError``, a model error — can leave the orchestrator's conversation ending with an
unanswered prompt, tool results no reply follows, or a tool use nobody answered.

:func:`close_conversation` repairs the *end* of the conversation by **appending** (a tool result
for every unanswered tool use, then a short assistant note), never by rewinding: Strands'
session manager stores the conversation append-only, so an in-memory rewind would leave the
stored copy broken while the cached one looks fine. The messages are added through the agent's
``MessageAddedEvent`` hook, so the session manager stores them like any other. A prompt that was
too long for the model is redacted (the session manager's ``redact_latest_message``) so it does
not overflow every later turn.

:func:`conversation_problems` lists what Bedrock would refuse (tests, and a log line).
"""

from __future__ import annotations

import logging
from typing import Any

from strands.hooks import MessageAddedEvent
from strands.types.content import Message, Messages

__all__ = ["close_conversation", "conversation_problems", "fill_blank_reply", "NOTES", "BLANK_REPLY"]

logger = logging.getLogger(__name__)

NOTES = {
    "stop": "(Stopped by the person before I finished.)",
    "disconnect": "(The page closed before I finished.)",
    "budget": "(This turn ran out of its time or step budget before I finished.)",
    "deadline": "(This turn was abandoned at its deadline before I finished.)",
    "reset": "(The session was reset.)",
    "cancelled": "(This turn was cancelled before I finished.)",
    "shutdown": "(The assistant was restarted before I finished.)",
    "error": "(The model could not answer this message; nothing was changed.)",
    "too_long": "(That message was too long for the model to read; nothing was changed.)",
}
BLANK_REPLY = "Done."
"""Stands in for an empty final answer (a model may end its turn with no content after a tool)."""
TOO_LONG_PLACEHOLDER = "[A message too long for the model was removed here.]"


def _blank(block: dict[str, Any]) -> bool:
    return "text" in block and not str(block["text"]).strip()


def conversation_problems(messages: Messages) -> list[str]:
    """What Bedrock's Converse API would refuse in ``messages`` (empty when valid)."""
    problems: list[str] = []
    if messages and messages[0]["role"] != "user":
        problems.append("the conversation does not start with a user message")
    for index, message in enumerate(messages):
        content = message.get("content") or []
        if not content:
            problems.append(f"message {index} has no content")
        if any(_blank(dict(block)) for block in content):
            problems.append(f"message {index} has a blank text block")
        if index and messages[index - 1]["role"] == message["role"]:
            problems.append(f"messages {index - 1} and {index} are both {message['role']}")
        uses = {b["toolUse"]["toolUseId"] for b in content if "toolUse" in b}
        if message["role"] == "assistant" and uses:
            following = messages[index + 1] if index + 1 < len(messages) else None
            answered = {
                b["toolResult"]["toolUseId"]
                for b in (following["content"] if following is not None else [])
                if "toolResult" in b
            }
            if following is None or not uses <= answered:
                problems.append(f"message {index} has tool use(s) with no tool result")
        results = {b["toolResult"]["toolUseId"] for b in content if "toolResult" in b}
        if results:
            previous = messages[index - 1] if index else None
            asked = {
                b["toolUse"]["toolUseId"]
                for b in (previous["content"] if previous is not None else [])
                if "toolUse" in b
            }
            if not results <= asked:
                problems.append(f"message {index} has tool result(s) with no tool use")
    return problems


def _repairs(messages: Messages, note: str) -> list[Message]:
    if not messages:
        return []
    last = messages[-1]
    added: list[Message] = []
    if last["role"] == "assistant":
        uses = [b["toolUse"] for b in last.get("content", []) if "toolUse" in b]
        if not uses:
            return []
        added.append(
            {
                "role": "user",
                "content": [
                    {
                        "toolResult": {
                            "toolUseId": use["toolUseId"],
                            "status": "error",
                            "content": [{"text": f"Not run. {note}"}],
                        }
                    }
                    for use in uses
                ],
            }
        )
    added.append({"role": "assistant", "content": [{"text": note}]})
    return added


def _replace_latest(agent: Any, message: Message) -> None:
    manager = getattr(agent, "_session_manager", None)
    if manager is None:
        return
    try:
        manager.redact_latest_message({"role": message["role"], "content": list(message["content"])}, agent)
    except Exception:  # the stored copy keeps the old content; memory is still valid
        logger.warning("could not replace the latest message in the session store", exc_info=True)


def fill_blank_reply(agent: Any) -> bool:
    """Give an empty final assistant message a short text (Bedrock refuses empty messages later).

    The message is the latest stored one, so the session manager's ``redact_latest_message``
    replaces the stored copy too. Returns whether anything changed.
    """
    messages: Messages = agent.messages
    if not messages or messages[-1]["role"] != "assistant":
        return False
    last = messages[-1]
    content = [b for b in last.get("content") or [] if not _blank(dict(b))]
    if content:
        if len(content) != len(last.get("content") or []):
            last["content"] = content
            _replace_latest(agent, last)
            return True
        return False
    last["content"] = [{"text": BLANK_REPLY}]
    _replace_latest(agent, last)
    return True


def close_conversation(agent: Any, reason: str, *, too_long: bool = False) -> int:
    """Make ``agent``'s conversation end validly for Bedrock, by appending; returns messages added.

    Args:
        agent: A Strands ``Agent`` (its ``messages`` and hooks are used).
        reason: Why the turn ended: a :data:`NOTES` key (``stop``, ``budget``, ``error`` …).
        too_long: The last prompt was too long for the model: replace it (memory and store)
            before closing, so later turns do not overflow too.
    """
    fill_blank_reply(agent)
    messages = agent.messages
    if too_long and messages and messages[-1]["role"] == "user":
        last = messages[-1]
        if not any("toolResult" in b for b in last.get("content", [])):
            last["content"] = [{"text": TOO_LONG_PLACEHOLDER}]
            _replace_latest(agent, last)
    note = NOTES.get("too_long" if too_long else reason, NOTES["error"])
    added = _repairs(messages, note)
    for message in added:
        messages.append(message)
        agent.hooks.invoke_callbacks(MessageAddedEvent(agent=agent, message=message))
    if added:
        logger.info("reason=<%s>, added=<%d> | conversation closed after an early end", reason, len(added))
    return len(added)
