"""AG-UI events: building them with ``ag_ui.core``, framing them as SSE, and translating Strands.

* :mod:`.factory` — small constructors for the events this product emits.
* :mod:`.sse` — one frame per event (``id:`` + the encoder's ``data:`` line) and the heartbeat.
* :mod:`.emitter` — the writer a run uses: assigns ids, keeps text messages paired.
* :mod:`.translate` — Strands ``stream_async`` events to AG-UI text events.
"""

from agent_runtime.events.emitter import RunEmitter
from agent_runtime.events.sse import HEARTBEAT, encode_data, frame

__all__ = ["HEARTBEAT", "RunEmitter", "encode_data", "frame"]
