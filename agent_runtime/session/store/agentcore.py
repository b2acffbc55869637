"""The AgentCore Memory store: ``bedrock_agentcore.memory.integrations.strands`` (deployed use).

Configuration only — it needs a real AgentCore Memory (``AGENTCORE_MEMORY_ID``) and is not
exercised by the test suite. AgentCore Memory has no cheap flag object, so the cross-runtime stop
flag is not available with this store (a ``stop`` still stops work on the runtime it reaches;
AgentCore's session stickiness makes that the common case); use ``SESSION_STORE=s3`` where a
stop must reach another runtime.
"""

from __future__ import annotations

import logging
from typing import Any

from strands.session.session_manager import SessionManager

from agent_runtime.errors import ConfigError
from agent_runtime.session.store._base import SessionStore

__all__ = ["AgentCoreMemoryStore"]

logger = logging.getLogger(__name__)

ACTOR_ID = "playbook-runtime"


class AgentCoreMemoryStore(SessionStore):
    """Sessions in Amazon Bedrock AgentCore Memory (short-term memory events)."""

    def __init__(self, *, memory_id: str, region: str | None) -> None:
        """Configure the memory (no request is made here).

        Raises:
            ConfigError: The installed ``bedrock-agentcore`` has no Strands memory integration.
        """
        try:
            from bedrock_agentcore.memory.integrations.strands.config import AgentCoreMemoryConfig
            from bedrock_agentcore.memory.integrations.strands.session_manager import (
                AgentCoreMemorySessionManager,
            )
        except ImportError:
            raise ConfigError(
                "SESSION_STORE=agentcore-memory needs bedrock-agentcore with the Strands memory integration"
            ) from None
        self._config_cls = AgentCoreMemoryConfig
        self._manager_cls = AgentCoreMemorySessionManager
        self.memory_id = memory_id
        self.region = region

    def manager(self, session_id: str) -> SessionManager:
        """An AgentCore Memory session manager for the session."""
        config = self._config_cls(memory_id=self.memory_id, session_id=session_id, actor_id=ACTOR_ID)
        return self._manager_cls(config, region_name=self.region)  # type: ignore[no-any-return]

    def read_agent_state(self, session_id: str, agent_id: str) -> dict[str, Any] | None:
        """The stored state of ``agent_id`` (through a manager: the memory API has no plain reader)."""
        manager: Any = self.manager(session_id)
        agent = manager.read_agent(session_id, agent_id)
        return dict(agent.state) if agent is not None else None

    def delete(self, session_id: str) -> None:
        """Delete the session's events, when the integration supports it."""
        manager: Any = self.manager(session_id)
        try:
            manager.delete_session(session_id)
        except Exception as exc:  # the memory integration may not implement deletion
            logger.warning(
                "session_id=<%s>, error=<%s> | could not delete the stored session", session_id, exc
            )

    def set_stop(self, session_id: str) -> bool:
        """Not available with this store."""
        logger.info("session_id=<%s> | the agentcore-memory store has no cross-runtime stop flag", session_id)
        return False

    def stop_requested(self, session_id: str) -> bool:
        """Never (no flag)."""
        return False

    def clear_stop(self, session_id: str) -> None:
        """Nothing to clear."""
