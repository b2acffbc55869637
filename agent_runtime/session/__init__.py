"""Per-process session state: the cache, each session's event log, and run cancellation."""

from agent_runtime.session.cache import AgentSessionCache, SessionEntry
from agent_runtime.session.channel import FrameChannel, Waker
from agent_runtime.session.control import RunControl
from agent_runtime.session.ephemeral import EphemeralState, LogEntry

__all__ = [
    "AgentSessionCache",
    "EphemeralState",
    "FrameChannel",
    "LogEntry",
    "RunControl",
    "SessionEntry",
    "Waker",
]
