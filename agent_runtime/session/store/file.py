"""The local store: Strands' ``FileSessionManager`` under ``<DATA_DIR>/sessions``.

Several runtime processes may share the folder (each write is an atomic rename). Layout, as
Strands writes it, plus the stop flag::

    <root>/session_<sid>/session.json
    <root>/session_<sid>/agents/agent_playbook_orchestrator/agent.json    (state, interrupt state)
    <root>/session_<sid>/agents/agent_playbook_orchestrator/messages/message_<n>.json
    <root>/session_<sid>/stop.flag                                        (only while raised)
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from strands.session.file_session_manager import FileSessionManager

from agent_runtime.session.store._base import STOP_FLAG, SessionStore
from agent_runtime.strands_compat import FileSessionReader

__all__ = ["FileStore"]

logger = logging.getLogger(__name__)


class FileStore(SessionStore):
    """Sessions as files in one folder."""

    def __init__(self, root: Path) -> None:
        """Use (and create) ``root``."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._reader = FileSessionReader(str(self.root))

    def manager(self, session_id: str) -> FileSessionManager:
        """Strands' file session manager for the session."""
        return FileSessionManager(session_id, storage_dir=str(self.root))

    def read_agent_state(self, session_id: str, agent_id: str) -> dict[str, Any] | None:
        """The stored state of ``agent_id``."""
        agent = self._reader.read_agent(session_id, agent_id)
        return dict(agent.state) if agent is not None else None

    def delete(self, session_id: str) -> None:
        """Remove the session's folder."""
        shutil.rmtree(self._session_dir(session_id), ignore_errors=True)

    def set_stop(self, session_id: str) -> bool:
        """Write ``stop.flag`` (atomically) if the session is stored."""
        folder = self._session_dir(session_id)
        if not (folder / "session.json").exists():
            return False
        tmp = folder / f".{STOP_FLAG}.{os.getpid()}.tmp"
        tmp.write_text(str(time.time()), encoding="utf-8")
        os.replace(tmp, folder / STOP_FLAG)
        logger.info("session_id=<%s> | stored stop flag raised", session_id)
        return True

    def stop_requested(self, session_id: str) -> bool:
        """Whether ``stop.flag`` exists."""
        return (self._session_dir(session_id) / STOP_FLAG).exists()

    def clear_stop(self, session_id: str) -> None:
        """Remove ``stop.flag``."""
        (self._session_dir(session_id) / STOP_FLAG).unlink(missing_ok=True)

    def _session_dir(self, session_id: str) -> Path:
        return Path(self._reader.session_path(session_id))
