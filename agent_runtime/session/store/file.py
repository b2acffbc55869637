"""The local store: an append-only journal per session under ``<DATA_DIR>/sessions``.

Several runtime processes may share the folder. Layout::

    <root>/session_<sid>/journal.jsonl     (one line per committed turn, see
                                            :mod:`agent_runtime.session.store.journal`)
    <root>/session_<sid>/stop.flag         (only while raised)

Sessions stored before the journal existed — Strands' ``FileSessionManager`` layout
(``session.json``, ``agents/agent_<id>/agent.json``, ``messages/message_<n>.json``) — are still
read and written in that layout.

Reading a session's state back (before every turn, to notice a turn that ran on another runtime)
costs one ``stat`` when the journal is as this process last wrote or read it: the store keeps the
last agent record per session keyed by the file's inode, size and modification time.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from strands.session.file_session_manager import FileSessionManager
from strands.session.session_manager import SessionManager

from agent_runtime.session.store._base import STOP_FLAG, SessionStore
from agent_runtime.session.store.journal import (
    JOURNAL_FILE,
    JournalSessionManager,
    StatKey,
    read_last_agent,
    stat_key,
)
from agent_runtime.strands_compat import FileSessionReader

__all__ = ["FileStore"]

logger = logging.getLogger(__name__)

_LEGACY_SESSION_FILE = "session.json"
_STATE_CACHE_SIZE = 4096


class FileStore(SessionStore):
    """Sessions as files in one folder (a journal append per turn: cheap enough to run inline)."""

    inline_io = True

    def __init__(self, root: Path) -> None:
        """Use (and create) ``root``."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._reader = FileSessionReader(str(self.root))
        self._states: OrderedDict[str, tuple[StatKey, dict[str, Any]]] = OrderedDict()
        self._states_lock = threading.Lock()

    def manager(self, session_id: str) -> SessionManager:
        """The session's journal manager (Strands' file manager for a session in the old layout)."""
        folder = self._session_dir(session_id)
        journal = folder / JOURNAL_FILE
        # The old layout's marker first: for a new session (and a journal one) a single lookup.
        if (folder / _LEGACY_SESSION_FILE).exists() and not journal.exists():
            return FileSessionManager(session_id, storage_dir=str(self.root))

        def remember(key: StatKey, agent: dict[str, Any]) -> None:
            self._remember(session_id, key, agent)

        return JournalSessionManager(session_id, journal, on_commit=remember)

    def read_agent_state(self, session_id: str, agent_id: str) -> dict[str, Any] | None:
        """The stored state of ``agent_id`` (the journal's last record; one ``stat`` when unchanged)."""
        journal = self._session_dir(session_id) / JOURNAL_FILE
        key = stat_key(journal)
        if key is None:
            with self._states_lock:
                self._states.pop(session_id, None)
            legacy = self._reader.read_agent(session_id, agent_id)
            return dict(legacy.state) if legacy is not None else None
        with self._states_lock:
            cached = self._states.get(session_id)
        if cached is not None and cached[0] == key:
            agent = cached[1]
        else:
            record = read_last_agent(journal)
            if record is None:
                return None
            agent = record
            self._remember(session_id, key, agent)
        if agent.get("agent_id") != agent_id:
            return None
        state = agent.get("state")
        return dict(state) if isinstance(state, dict) else {}

    def _remember(self, session_id: str, key: StatKey, agent: dict[str, Any]) -> None:
        with self._states_lock:
            self._states[session_id] = (key, agent)
            self._states.move_to_end(session_id)
            while len(self._states) > _STATE_CACHE_SIZE:
                self._states.popitem(last=False)

    def delete(self, session_id: str) -> None:
        """Remove the session's folder."""
        with self._states_lock:
            self._states.pop(session_id, None)
        shutil.rmtree(self._session_dir(session_id), ignore_errors=True)

    def set_stop(self, session_id: str) -> bool:
        """Write ``stop.flag`` (atomically) if the session is stored."""
        folder = self._session_dir(session_id)
        if not folder.is_dir():  # created with the session's orchestrator (its first turn)
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

    def truncate_messages(self, session_id: str, agent_id: str, keep: int) -> int:
        """Remove ``message_<n>.json`` for every ``n >= keep``."""
        folder = Path(self._reader._get_agent_path(session_id, agent_id)) / "messages"
        removed = 0
        for path in folder.glob("message_*.json"):
            suffix = path.stem.rpartition("_")[2]
            if suffix.isdigit() and int(suffix) >= keep:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _session_dir(self, session_id: str) -> Path:
        return Path(self._reader.session_path(session_id))
