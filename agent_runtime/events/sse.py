"""SSE framing. ``EventEncoder`` writes the ``data:`` line; we prefix the per-session ``id:``.

Each frame is ``id: <seq>\\n`` followed by exactly what ``ag_ui.encoder.EventEncoder`` produces
(``data: {json}\\n\\n``, camelCase, ``None`` omitted). A silent stream gets the comment
:data:`HEARTBEAT` so proxies keep it open; SSE clients ignore comments.
"""

from __future__ import annotations

from ag_ui.core import BaseEvent
from ag_ui.encoder import EventEncoder

__all__ = ["HEARTBEAT", "MEDIA_TYPE", "encode_data", "frame", "frame_from_data"]

HEARTBEAT = b": keepalive\n\n"
MEDIA_TYPE = "text/event-stream"
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

_ENCODER = EventEncoder()


def encode_data(event: BaseEvent) -> str:
    """The encoder's ``data: …\\n\\n`` block for one event."""
    return _ENCODER.encode(event)


def frame_from_data(event_id: int, data: str) -> bytes:
    """A full SSE frame from an already-encoded data block."""
    return f"id: {event_id}\n{data}".encode()


def frame(event_id: int, event: BaseEvent) -> bytes:
    """A full SSE frame (``id:`` + ``data:``) for one event."""
    return frame_from_data(event_id, encode_data(event))
