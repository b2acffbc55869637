"""Constructors for the AG-UI events this product emits (all from ``ag_ui.core``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from ag_ui.core import (
    AssistantMessage,
    BaseEvent,
    CustomEvent,
    Interrupt,
    MessagesSnapshotEvent,
    RunErrorEvent,
    RunFinishedCancelledOutcome,
    RunFinishedEvent,
    RunFinishedInterruptOutcome,
    RunFinishedSuccessOutcome,
    RunStartedEvent,
    StateSnapshotEvent,
    SubagentErrorEvent,
    SubagentFinishedEvent,
    SubagentFinishedSuccessOutcome,
    SubagentStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallStartEvent,
    UserMessage,
)

from agent_runtime.contract import ErrorCode, ToolErrorCode
from agent_runtime.messages import split_text

__all__ = [
    "new_id",
    "run_started",
    "run_finished",
    "run_cancelled_finish",
    "run_interrupted",
    "interrupt",
    "run_error",
    "custom",
    "state_snapshot",
    "messages_snapshot",
    "tool_call",
    "text_message",
    "subagent_started",
    "subagent_finished",
    "subagent_error",
]


def new_id(prefix: str) -> str:
    """A fresh opaque id such as ``run_3f2a…``."""
    return f"{prefix}_{uuid.uuid4().hex}"


def run_started(thread_id: str, run_id: str) -> RunStartedEvent:
    """``RUN_STARTED`` — always the first event of a stream."""
    return RunStartedEvent(thread_id=thread_id, run_id=run_id)


def run_finished(thread_id: str, run_id: str, *, result: Any = None) -> RunFinishedEvent:
    """``RUN_FINISHED`` with the success outcome."""
    return RunFinishedEvent(
        thread_id=thread_id, run_id=run_id, result=result, outcome=RunFinishedSuccessOutcome()
    )


def run_cancelled_finish(thread_id: str, run_id: str) -> RunFinishedEvent:
    """``RUN_FINISHED`` with the cancelled outcome (after ``CUSTOM run.cancelled``)."""
    return RunFinishedEvent(thread_id=thread_id, run_id=run_id, outcome=RunFinishedCancelledOutcome())


def interrupt(
    interrupt_id: str,
    *,
    reason: str,
    message: str,
    expires_at: str,
    tool_call_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Interrupt:
    """One AG-UI ``Interrupt``; ``expires_at`` is both the field and ``metadata.expires_at``."""
    return Interrupt(
        id=interrupt_id,
        reason=reason,
        message=message,
        tool_call_id=tool_call_id,
        expires_at=expires_at,
        metadata={**dict(metadata or {}), "interrupt_id": interrupt_id, "expires_at": expires_at},
    )


def run_interrupted(thread_id: str, run_id: str, interrupts: Iterable[Interrupt]) -> RunFinishedEvent:
    """``RUN_FINISHED`` with the interrupt outcome: the run waits for a person's answer."""
    return RunFinishedEvent(
        thread_id=thread_id, run_id=run_id, outcome=RunFinishedInterruptOutcome(interrupts=list(interrupts))
    )


def run_error(code: ErrorCode | ToolErrorCode, message: str) -> RunErrorEvent:
    """``RUN_ERROR`` — a terminal event carrying a stable ``code``."""
    return RunErrorEvent(message=message, code=str(code))


def custom(name: str, value: Any) -> CustomEvent:
    """``CUSTOM`` with a product event name (see ``contract.CustomEventName``)."""
    return CustomEvent(name=str(name), value=value)


def state_snapshot(snapshot: Mapping[str, Any]) -> StateSnapshotEvent:
    """``STATE_SNAPSHOT`` with ``{phase, canvas, version}``."""
    return StateSnapshotEvent(snapshot=dict(snapshot))


def messages_snapshot(messages: Iterable[Mapping[str, str]]) -> MessagesSnapshotEvent:
    """``MESSAGES_SNAPSHOT`` — the transcript (``[{"id", "role": user|assistant, "content"}]``)."""
    return MessagesSnapshotEvent(
        messages=[
            UserMessage(id=m["id"], role="user", content=m["content"])
            if m["role"] == "user"
            else AssistantMessage(id=m["id"], role="assistant", content=m["content"])
            for m in messages
        ]
    )


def tool_call(
    tool_call_id: str, name: str, args: Mapping[str, Any], *, subagent_run_id: str | None = None
) -> list[BaseEvent]:
    """``TOOL_CALL_START``/``ARGS``/``END`` for one applied tool call; the delta is the full JSON."""
    delta = json.dumps(dict(args), ensure_ascii=False, separators=(",", ":"))
    return [
        ToolCallStartEvent(
            tool_call_id=tool_call_id, tool_call_name=str(name), subagent_run_id=subagent_run_id
        ),
        ToolCallArgsEvent(tool_call_id=tool_call_id, delta=delta, subagent_run_id=subagent_run_id),
        ToolCallEndEvent(tool_call_id=tool_call_id, subagent_run_id=subagent_run_id),
    ]


def text_message(
    text: str, *, message_id: str | None = None, chunks: Iterable[str] | None = None
) -> list[BaseEvent]:
    """A whole assistant text message: ``TEXT_MESSAGE_START``/``CONTENT``…/``END``."""
    mid = message_id or new_id("msg")
    events: list[BaseEvent] = [TextMessageStartEvent(message_id=mid, role="assistant")]
    events.extend(
        TextMessageContentEvent(message_id=mid, delta=piece) for piece in (chunks or split_text(text, 24))
    )
    events.append(TextMessageEndEvent(message_id=mid))
    return events


def subagent_started(
    subagent_run_id: str, name: str, description: str, metadata: Mapping[str, Any]
) -> BaseEvent:
    """``SUBAGENT_STARTED`` for one module builder."""
    return SubagentStartedEvent(
        subagent_run_id=subagent_run_id, name=name, description=description, metadata=dict(metadata)
    )


def subagent_finished(subagent_run_id: str, result: Any, metadata: Mapping[str, Any]) -> BaseEvent:
    """``SUBAGENT_FINISHED`` (success) for one module builder."""
    return SubagentFinishedEvent(
        subagent_run_id=subagent_run_id,
        result=result,
        outcome=SubagentFinishedSuccessOutcome(),
        metadata=dict(metadata),
    )


def subagent_error(
    subagent_run_id: str, message: str, code: str | None, metadata: Mapping[str, Any]
) -> BaseEvent:
    """``SUBAGENT_ERROR`` for a module builder that failed or was stopped."""
    return SubagentErrorEvent(
        subagent_run_id=subagent_run_id, message=message, code=code, metadata=dict(metadata)
    )
