"""SSE framing. ``EventEncoder`` writes the ``data:`` line; we prefix the per-session ``id:``.

Each frame is ``id: <seq>\\n`` followed by exactly what ``ag_ui.encoder.EventEncoder`` produces
(``data: {json}\\n\\n``, camelCase, ``None`` omitted). A silent stream gets the comment
:data:`HEARTBEAT` so proxies keep it open; SSE clients ignore comments.

Streamed assistant text is most of a turn's frames (one ``TEXT_MESSAGE_CONTENT`` per model text
delta). :class:`TextContentFrames` writes those without building a pydantic event per delta: the
frame's fixed parts come from the encoder itself (an event encoded once per message, with marker
values split out) and the delta is serialized by ``pydantic_core.to_json``, the serializer the
encoder uses for the same string field — so the bytes are the encoder's, byte for byte (a unit
test compares them over every code point class).
"""

from __future__ import annotations

from ag_ui.core import BaseEvent, TextMessageContentEvent
from ag_ui.encoder import EventEncoder
from pydantic_core import to_json

__all__ = [
    "HEARTBEAT",
    "MEDIA_TYPE",
    "TextContentFrames",
    "encode_data",
    "frame",
    "frame_from_data",
]

HEARTBEAT = b": keepalive\n\n"
MEDIA_TYPE = "text/event-stream"
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

_ENCODER = EventEncoder()
_MESSAGE_MARK = "\x01message\x01"
_DELTA_MARK = "\x01delta\x01"


def encode_data(event: BaseEvent) -> str:
    """The encoder's ``data: …\\n\\n`` block for one event."""
    return _ENCODER.encode(event)


def frame_from_data(event_id: int, data: str) -> bytes:
    """A full SSE frame from an already-encoded data block."""
    return f"id: {event_id}\n{data}".encode()


def frame(event_id: int, event: BaseEvent) -> bytes:
    """A full SSE frame (``id:`` + ``data:``) for one event."""
    return frame_from_data(event_id, encode_data(event))


def _content_template() -> tuple[bytes, bytes, bytes] | None:
    """The encoder's ``TEXT_MESSAGE_CONTENT`` data block cut around its two string values.

    ``None`` when the encoder's output is not ``head + messageId + middle + delta + tail`` with
    each marker once (a future encoder layout): every frame then goes through the encoder.
    """
    data = encode_data(TextMessageContentEvent(message_id=_MESSAGE_MARK, delta=_DELTA_MARK)).encode()
    message, delta = to_json(_MESSAGE_MARK), to_json(_DELTA_MARK)
    if data.count(message) != 1 or data.count(delta) != 1:
        return None
    head, _, rest = data.partition(message)
    middle, found, tail = rest.partition(delta)
    return (head, middle, tail) if found else None


_TEMPLATE = _content_template()


class TextContentFrames:
    """``TEXT_MESSAGE_CONTENT`` frames of one text message, byte-identical to :func:`frame`'s."""

    def __init__(self, message_id: str) -> None:
        """Prepare the frames of message ``message_id``."""
        self.message_id = message_id
        self._prefix = _TEMPLATE[0] + to_json(message_id) + _TEMPLATE[1] if _TEMPLATE is not None else b""

    def frame(self, event_id: int, delta: str) -> bytes:
        """The frame carrying ``delta`` with SSE id ``event_id``.

        Raises:
            pydantic_core.PydanticSerializationError: ``delta`` cannot be UTF-8 (a lone
                surrogate), exactly as the encoder would raise.
        """
        if _TEMPLATE is None:
            return frame(event_id, TextMessageContentEvent(message_id=self.message_id, delta=delta))
        return b"id: %d\n%b%b%b" % (event_id, self._prefix, to_json(delta), _TEMPLATE[2])
