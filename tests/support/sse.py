"""Reading SSE streams from the runtime in tests: split frames, parse AG-UI events, check rules.

``parse_frames(raw)`` follows the SSE rules the browser uses (blank-line separated frames,
``id:``/``data:`` fields, comments ignored). ``check_stream(events)`` asserts what every AG-UI
stream of this product must satisfy: it starts with ``RUN_STARTED`` (or is a lone ``RUN_ERROR``),
every ``TEXT_MESSAGE_START``/``TOOL_CALL_START``/``SUBAGENT_STARTED`` is closed, and there is
exactly one terminal event, at the end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

__all__ = [
    "Frame",
    "parse_frames",
    "events_of",
    "check_stream",
    "types_of",
    "tool_calls",
    "text_of",
    "custom",
]

_TERMINAL = {"RUN_FINISHED", "RUN_ERROR"}


@dataclass
class Frame:
    """One SSE frame: its ``id`` (if any), joined ``data`` and the parsed JSON."""

    id: int | None
    data: str
    event: dict[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str:
        """The AG-UI event type."""
        return str(self.event.get("type"))


def parse_frames(raw: bytes | str) -> list[Frame]:
    """Split an SSE body into frames (comments and empty frames are skipped)."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    frames: list[Frame] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        event_id: int | None = None
        data_lines: list[str] = []
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "id":
                event_id = int(value)
            elif name == "data":
                data_lines.append(value)
        if data_lines:
            data = "\n".join(data_lines)
            frames.append(Frame(event_id, data, json.loads(data)))
    return frames


_EVENT_ADAPTER: TypeAdapter[Any] | None = None


def _adapter() -> TypeAdapter[Any]:
    global _EVENT_ADAPTER
    if _EVENT_ADAPTER is None:
        from ag_ui.core import Event

        _EVENT_ADAPTER = TypeAdapter(Event)
    return _EVENT_ADAPTER


def events_of(frames: list[Frame]) -> list[Any]:
    """Validate every frame's JSON as an AG-UI 1.0 event (raises on an invalid one)."""
    return [_adapter().validate_python(frame.event) for frame in frames]


def check_stream(frames: list[Frame]) -> None:
    """Assert the product's stream rules (see the module docstring); resumed watches included."""
    assert frames, "empty stream"
    events_of(frames)
    types = [f.type for f in frames]
    if types == ["RUN_ERROR"]:
        return
    assert types[0] == "RUN_STARTED", types[:3]
    terminals = [i for i, t in enumerate(types) if t in _TERMINAL]
    assert len(terminals) == 1 and terminals[0] == len(types) - 1, (
        f"terminal events at {terminals} of {len(types)}"
    )
    open_text: set[str] = set()
    open_tools: set[str] = set()
    open_subagents: set[str] = set()
    for frame in frames:
        e = frame.event
        kind = frame.type
        if kind == "TEXT_MESSAGE_START":
            assert e["messageId"] not in open_text
            open_text.add(e["messageId"])
        elif kind == "TEXT_MESSAGE_CONTENT":
            assert e["messageId"] in open_text, "content outside a message"
            assert e["delta"], "empty text delta"
        elif kind == "TEXT_MESSAGE_END":
            open_text.remove(e["messageId"])
        elif kind == "TOOL_CALL_START":
            assert e["toolCallId"] not in open_tools
            assert e.get("subagentRunId") in (None, *open_subagents), "tool call of an unstarted subagent"
            open_tools.add(e["toolCallId"])
        elif kind == "TOOL_CALL_ARGS":
            assert e["toolCallId"] in open_tools
            json.loads(e["delta"])
        elif kind == "TOOL_CALL_END":
            open_tools.remove(e["toolCallId"])
        elif kind == "SUBAGENT_STARTED":
            open_subagents.add(e["subagentRunId"])
        elif kind in ("SUBAGENT_FINISHED", "SUBAGENT_ERROR"):
            assert e["subagentRunId"] in open_subagents, "subagent finished but never started"
            open_subagents.discard(e["subagentRunId"])
    assert not open_text, f"unclosed text messages: {open_text}"
    assert not open_tools, f"unclosed tool calls: {open_tools}"
    assert not open_subagents, f"unfinished subagents: {open_subagents}"
    ids = [f.id for f in frames if f.id is not None]
    assert ids == sorted(ids), "SSE ids go backwards"


def types_of(frames: list[Frame]) -> list[str]:
    """Event types, with the name appended for ``CUSTOM`` (``CUSTOM:portal.done``)."""
    return [f"CUSTOM:{f.event['name']}" if f.type == "CUSTOM" else f.type for f in frames]


def tool_calls(frames: list[Frame]) -> list[tuple[str, dict[str, Any]]]:
    """``(tool name, args)`` for every complete tool call, in order."""
    names: dict[str, str] = {}
    calls: list[tuple[str, dict[str, Any]]] = []
    for f in frames:
        if f.type == "TOOL_CALL_START":
            names[f.event["toolCallId"]] = f.event["toolCallName"]
        elif f.type == "TOOL_CALL_ARGS":
            calls.append((names[f.event["toolCallId"]], json.loads(f.event["delta"])))
    return calls


def last_snapshot(frames: list[Frame]) -> dict[str, Any]:
    """The canvas of the stream's last ``STATE_SNAPSHOT`` (a copy); fails if there is none."""
    snapshots = [f.event["snapshot"] for f in frames if f.type == "STATE_SNAPSHOT"]
    assert snapshots, f"no STATE_SNAPSHOT in {types_of(frames)}"
    return dict(snapshots[-1])


def text_of(frames: list[Frame]) -> str:
    """All assistant text, concatenated."""
    return "".join(f.event["delta"] for f in frames if f.type == "TEXT_MESSAGE_CONTENT")


def custom(frames: list[Frame], name: str) -> list[Any]:
    """Values of the ``CUSTOM`` events called ``name``."""
    return [f.event.get("value") for f in frames if f.type == "CUSTOM" and f.event.get("name") == name]
