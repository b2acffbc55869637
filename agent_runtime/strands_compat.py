"""Every Strands internal the runtime relies on, behind one adapter.

Strands has no public API for a few things the runtime needs: whether an agent is paused on
interrupts (and clearing that), the answer already given to an interrupt a hook raises again, the
storage path of a session, a session repository that only reads (without the manager's side effect
of creating a session), the flag a model sets when it does structured output natively, and an
agent's state handed over and read back without Strands' defensive deep copies (the session
journal writes it once per turn; two deep copies of the canvas per write were most of its cost). Each is
read here and nowhere else; ``tests/unit/agent_runtime/test_strands_compat.py`` checks them against
the installed ``strands-agents`` and fails with one clear message when an upgrade moves them
(update :data:`TESTED_STRANDS_VERSION` once the adapter is checked against the new release).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strands.session.file_session_manager import FileSessionManager
from strands.session.s3_session_manager import S3SessionManager
from strands.types.session import SessionAgent

if TYPE_CHECKING:
    from strands import Agent
    from strands.hooks import BeforeToolCallEvent

__all__ = [
    "TESTED_STRANDS_VERSION",
    "FileSessionReader",
    "S3SessionReader",
    "answered_interrupt_reason",
    "clear_interrupts",
    "hand_over_state",
    "is_paused_on_interrupt",
    "session_agent",
    "supports_structured_output",
    "STRUCTURED_OUTPUT_FLAG",
]

TESTED_STRANDS_VERSION = "1.62.0"
"""The ``strands-agents`` release every function here was checked against."""

STRUCTURED_OUTPUT_FLAG = "_supports_structured_output"
"""The class attribute Strands' event loop reads to know a model does structured output natively."""


def is_paused_on_interrupt(agent: Agent) -> bool:
    """Whether the agent waits for interrupt responses (Strands' session state says so)."""
    return bool(agent._interrupt_state.activated)


def clear_interrupts(agent: Agent) -> None:
    """Drop the agent's interrupt state: no pending tool call, no stored answers."""
    agent._interrupt_state.deactivate()


def answered_interrupt_reason(event: BeforeToolCallEvent, name: str) -> dict[str, Any] | None:
    """The reason the call of ``event`` was paused with under ``name``, once it has an answer.

    Strands keeps interrupts (with their answers) in the agent's interrupt state, which the session
    manager persists; it exposes no public lookup, so this reads that state the way
    ``event.interrupt`` itself does.

    Returns:
        A copy of the reason, or ``None`` when the call was not paused, is not answered yet, or its
        reason is not a dict.
    """
    state = getattr(event.agent, "_interrupt_state", None)
    if state is None:
        return None
    prior = state.interrupts.get(event._interrupt_id(name))
    if prior is None or prior.response is None or not isinstance(prior.reason, dict):
        return None
    return dict(prior.reason)


def hand_over_state(agent: Agent, key: str, value: dict[str, Any]) -> None:
    """``agent.state.set(key, value)`` without the deep copy and JSON check of ``set``.

    For a value the caller built fresh from JSON types and never touches again (the session's
    portal state): ``set`` would serialize it once to check it and copy it whole.
    """
    state = agent.state
    with state._lock:
        state._data[key] = value
        state._version += 1


def session_agent(agent: Agent) -> SessionAgent:
    """``SessionAgent.from_agent(agent)`` without deep-copying the agent's state.

    The same fields as ``from_agent`` (a pinned test compares the two); the state dict is a
    shallow copy whose values are the agent's own, for a caller that serializes it at once.

    Raises:
        ValueError: The agent has no ``agent_id`` (as ``from_agent``).
    """
    if agent.agent_id is None:
        raise ValueError("agent_id needs to be defined.")
    with agent.state._lock:
        state = dict(agent.state._data)
    return SessionAgent(
        agent_id=agent.agent_id,
        conversation_manager_state=agent.conversation_manager.get_state(),
        state=state,
        _internal_state={
            "interrupt_state": agent._interrupt_state.to_dict(),
            "model_state": agent._model_state,
        },
    )


def supports_structured_output(model: Any) -> bool:
    """Whether ``model`` declares native structured output (what a wrapper must mirror)."""
    return bool(getattr(model, STRUCTURED_OUTPUT_FLAG, False))


class FileSessionReader(FileSessionManager):
    """Strands' file repository, read-only: building it creates no session and no folder."""

    def __init__(self, storage_dir: str) -> None:  # noqa: D107 - deliberately skips super().__init__
        self.storage_dir = storage_dir

    def session_path(self, session_id: str) -> str:
        """The session's folder, as Strands lays it out (``<root>/session_<sid>``).

        Raises:
            ValueError: The id contains a path separator.
        """
        return self._get_session_path(session_id)


class S3SessionReader(S3SessionManager):
    """Strands' S3 repository, read-only: building it creates no session and makes no request."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:  # noqa: D107 - skips super().__init__
        self.bucket = bucket
        self.prefix = prefix
        self.client = client

    def session_path(self, session_id: str) -> str:
        """The session's key prefix, as Strands lays it out (``<prefix>/session_<sid>/``).

        Raises:
            ValueError: The id contains a path separator.
        """
        return self._get_session_path(session_id)
