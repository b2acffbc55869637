"""An append-only session journal: one compact JSON line per committed turn.

Strands' ``FileSessionManager`` writes every message as its own indented JSON file the moment it
is added and rewrites ``agent.json`` (re-reading it first) whenever the agent's state or interrupt
state changes — about twelve atomic file replacements per chat turn, which was nearly half of the
runtime's own time per turn. :class:`JournalSessionManager` is a Strands session manager that
instead writes **once per commit** (:meth:`JournalSessionManager.commit`, which the runtime calls
when a turn or a build ends, before the turn's terminal event): it appends one line holding what
changed since the previous commit — the messages added (and how many were trimmed from the front by the
conversation manager) and the agent's state, conversation-manager state and Strands' internal
(interrupt/model) state. A finished turn is therefore durable before ``RUN_FINISHED`` is sent,
and a turn cut short leaves nothing half-written: the stored conversation and the stored canvas
always come from the same commit.

Record format (one JSON object per line, ``format`` 1)::

    {"format": 1, "drop": d, "keep": k, "add": [message, ...], "agent": {SessionAgent fields}}

Replaying a record turns the conversation ``live`` into ``live[d:][:k] + add``; a record with
``"full": true`` replaces it (``add`` holds the whole conversation). Messages are Strands
``Message`` dicts with ``bytes`` values base64-encoded the way Strands encodes them; ``agent``
has the fields of :class:`strands.types.session.SessionAgent`, so it is restored with Strands'
own ``SessionAgent.from_dict`` / ``initialize_internal_state``.

Safety:

* a line is appended with one ``write`` on an ``O_APPEND`` descriptor; a torn last line (a crash
  in the middle of the write) is ignored on reading — that commit never finished, so its turn
  never sent ``RUN_FINISHED``;
* before appending, the writer checks that the file is exactly as it last left it (size, mtime,
  inode); if another process wrote meanwhile (another runtime took the session), it writes a
  full record instead of a delta, so a delta is never applied on top of a conversation it was not
  computed from;
* a journal, or a new session's folder, deleted after this manager read or made it (a ``reset``,
  possibly on another runtime) is never written back: the commit raises :class:`SessionGone`;
* Strands' own ``sync_agent`` (its agent loop calls it mid-turn after reducing an overflowing
  context) writes nothing: every record is a whole turn;
* past :data:`COMPACT_AFTER` records the journal is rewritten as one full record (a temporary
  file and an atomic rename).

Durability: a commit is in the operating system's hands before ``RUN_FINISHED`` is sent, so a
crash of the runtime process loses nothing. It is not ``fsync``-ed: a crash of the machine itself
can lose the last commits (or, in the rare compaction, leave the journal empty), as with
Strands' own file manager.

Not persisted, exactly as with Strands' repository managers: in-place edits that Strands itself
makes to messages already committed (other than a guardrail redaction, which forces a rewrite of
the last message).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from strands.agent.state import AgentState
from strands.hooks import AgentInitializedEvent, HookRegistry
from strands.session.session_manager import SessionManager
from strands.types.content import Message
from strands.types.session import SessionAgent, decode_bytes_values

from agent_runtime.errors import RunFault
from agent_runtime.strands_compat import session_agent

__all__ = [
    "COMPACT_AFTER",
    "JOURNAL_FILE",
    "JournalSessionManager",
    "SessionGone",
    "StatKey",
    "read_last_agent",
    "read_messages",
    "stat_key",
]

logger = logging.getLogger(__name__)

JOURNAL_FILE = "journal.jsonl"
COMPACT_AFTER = 64
"""Records after which a commit rewrites the journal as one full record."""

_FORMAT = 1
_TAIL_CHUNK = 64 * 1024

StatKey = tuple[int, int, int]
"""``(inode, size, mtime_ns)`` of a journal file: changes with every write by anyone."""


class SessionGone(RunFault):
    """The session's journal was deleted after this manager read or made it (see :meth:`commit`)."""


def stat_key(path: Path) -> StatKey | None:
    """The file's :data:`StatKey`, or ``None`` when it does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _encode_bytes(value: Any) -> Any:
    # json calls this only for values it cannot encode; Strands' own encoding of bytes.
    if isinstance(value, bytes | bytearray):
        return {"__bytes_encoded__": True, "data": base64.b64encode(bytes(value)).decode()}
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


_ORJSON_OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS


def _dumps(record: dict[str, Any]) -> bytes:
    """One journal line: compact UTF-8 JSON and a newline.

    ``orjson`` (a turn's record in ~15 µs rather than ~400 µs with ``json``); what it refuses
    (an integer beyond 64 bits) goes through ``json``, which writes it. (``orjson`` writes a NaN
    or infinite float as ``null``, where ``json`` writes a non-standard ``NaN``.)
    """
    try:
        return orjson.dumps(record, default=_encode_bytes, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=_encode_bytes)
        return text.encode("utf-8") + b"\n"


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("format") == _FORMAT else None


def _apply(live: list[Any], record: dict[str, Any]) -> list[Any]:
    add = list(record.get("add") or [])
    if record.get("full"):
        return add
    drop, keep = int(record.get("drop", 0)), int(record.get("keep", 0))
    return live[drop:][:keep] + add


def _read(path: Path) -> tuple[bytes, StatKey | None]:
    """The file's bytes and the :data:`StatKey` they go with (``b""``, ``None`` when missing).

    One open: the key is taken from the open file before reading, so bytes appended meanwhile
    can only make the key older than what was read (the next commit then writes in full),
    never newer.
    """
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        return b"", None
    with handle:
        st = os.fstat(handle.fileno())
        raw = handle.read()
    return raw, (st.st_ino, st.st_size, st.st_mtime_ns)


def _load(path: Path) -> tuple[list[Any], dict[str, Any] | None, int, bool, StatKey | None]:
    """Replay the journal: (conversation, latest agent record, records read, torn tail, file key)."""
    live: list[Any] = []
    agent: dict[str, Any] | None = None
    count = 0
    raw, key = _read(path)
    if key is None:
        return live, None, 0, False, None
    lines = raw.split(b"\n")
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        record = _parse(line)
        if record is None:
            if number >= len(lines) - 2:  # a torn last line: that commit never finished
                logger.warning("path=<%s> | ignoring an unfinished last journal record", path)
                return live, agent, count, True, key
            raise ValueError(f"corrupt session journal record {number + 1} in {path}")
        live = _apply(live, record)
        agent = record.get("agent") or agent
        count += 1
    return live, agent, count, False, key


def read_messages(path: Path) -> list[Message]:
    """The conversation as last committed (empty when there is no journal)."""
    messages, _, _, _, _ = _load(path)
    return [decode_bytes_values(message) for message in messages]


def read_last_agent(path: Path) -> dict[str, Any] | None:
    """The agent record of the journal's last complete line (reads only the file's tail)."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        return None
    with handle:
        position = handle.seek(0, os.SEEK_END)
        tail = b""
        checked = 0  # complete lines at the end of ``tail`` already tried
        while position > 0:
            step = min(_TAIL_CHUNK, position)
            position -= step
            handle.seek(position)
            tail = handle.read(step) + tail
            # Before the first newline sits a piece of a line unless the file starts there.
            lines = tail.split(b"\n")
            complete = lines if position == 0 else lines[1:]
            for line in reversed(complete[: len(complete) - checked]):
                record = _parse(line) if line.strip() else None
                if record is not None and record.get("agent") is not None:
                    return dict(record["agent"])
            checked = len(complete)
    return None


def _agent_record(agent: Any) -> dict[str, Any]:
    """The agent's persisted fields: Strands' ``SessionAgent``, its state not deep-copied first."""
    record = session_agent(agent)
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


class JournalSessionManager(SessionManager):
    """A Strands session manager that appends one journal line per :meth:`commit`.

    It restores the agent when the agent is created (``AgentInitializedEvent``) and writes only
    when :meth:`commit` is called — it registers no per-message hooks, and Strands' own
    ``sync_agent`` calls (its agent loop makes one mid-turn, after reducing the context on an
    overflow) write nothing: a commit is always a whole turn. One manager serves one agent of one
    session.
    """

    def __init__(
        self,
        session_id: str,
        path: Path,
        *,
        on_commit: Callable[[StatKey, dict[str, Any]], None] | None = None,
    ) -> None:
        """Use the journal at ``path`` (no I/O until the agent is initialized).

        Args:
            session_id: The session.
            path: The journal file (its folder is created on the first commit).
            on_commit: Called after each commit with the file's new :data:`StatKey` and the agent
                record written (the store caches it, so reading the state back costs a ``stat``).
        """
        self.session_id = session_id
        self.path = Path(path)
        self._on_commit = on_commit
        self._lock = threading.Lock()
        self._live: list[Any] = []  # the committed conversation (the message objects themselves)
        self._removed = 0  # the conversation manager's removed_message_count at the last commit
        self._records = 0
        self._key: StatKey | None = None  # the file as this manager last left it
        self._created_at: str | None = None

    # ------------------------------------------------------------------ Strands hooks

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        """Restore the agent when it is created; nothing is written by hooks."""
        registry.add_callback(AgentInitializedEvent, lambda event: self.initialize(event.agent))

    def initialize(self, agent: Any, **kwargs: Any) -> None:
        """Restore the agent's conversation, state and internal state from the journal."""
        with self._lock:
            messages, record, self._records, torn, self._key = _load(self.path)
            if torn:
                self._key = None  # never append after a torn line: the next commit rewrites the journal
            if record is None:
                # The folder marks the session as started (a stop sent to another runtime during
                # its first turn finds it); the journal itself appears with the first commit.
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._live = list(agent.messages)
                return
            session_agent = SessionAgent.from_dict(record)
            self._created_at = session_agent.created_at
            agent.state = AgentState(session_agent.state)
            session_agent.initialize_internal_state(agent)
            # The stored conversation already holds whatever the manager prepended when it was
            # committed, so the manager's own prepend (e.g. a summary) is not added again.
            agent.conversation_manager.restore_from_session(session_agent.conversation_manager_state)
            if not agent.model.stateful:
                agent.messages = [decode_bytes_values(message) for message in messages]
            self._live = list(agent.messages)
            self._removed = int(getattr(agent.conversation_manager, "removed_message_count", 0))
        logger.debug(
            "session_id=<%s>, messages=<%d>, records=<%d> | session restored from the journal",
            self.session_id,
            len(messages),
            self._records,
        )

    def append_message(self, message: Message, agent: Any, **kwargs: Any) -> None:
        """Nothing: messages are written with the next commit."""

    def redact_latest_message(self, redact_message: Message, agent: Any, **kwargs: Any) -> None:
        """Make the next commit rewrite the last message (Strands has already replaced it)."""
        with self._lock:
            if self._live:
                self._live[-1] = None

    # ------------------------------------------------------------------ commit

    def sync_agent(self, agent: Any, **kwargs: Any) -> None:
        """Nothing: Strands calls this mid-turn; the turn's :meth:`commit` carries the change."""

    def commit(self, agent: Any) -> None:
        """Append what changed since the last commit (blocking file I/O).

        Raises:
            SessionGone: The session's journal or folder, read or made by this manager, has been
                deleted meanwhile (a ``reset``, possibly by another runtime): the session is not
                written back.
        """
        with self._lock:
            removed = int(getattr(agent.conversation_manager, "removed_message_count", 0))
            current = list(agent.messages)
            agent_record = _agent_record(agent)
            if self._created_at is None:
                self._created_at = agent_record["created_at"]
            agent_record["created_at"] = self._created_at
            on_disk = stat_key(self.path)
            if on_disk is None and self._key is not None:
                raise SessionGone(f"session {self.session_id} was deleted; not writing it back")
            # Someone else wrote (or the journal is long): write the whole conversation.
            full = on_disk != self._key or self._records >= COMPACT_AFTER
            record: dict[str, Any] = {"format": _FORMAT}
            drop = removed - self._removed
            if not full and 0 <= drop <= len(self._live):
                keep = 0
                for old, new in zip(self._live[drop:], current, strict=False):
                    if old is not new:
                        break
                    keep += 1
                record.update(drop=drop, keep=keep, add=current[keep:])
            else:
                record.update(full=True, add=current)
            record["agent"] = agent_record
            data = _dumps(record)
            if on_disk is not None and record.get("full"):
                self._replace(data)
                self._records = 1
                self._key = stat_key(self.path)
            else:
                self._key = self._append(data)
                self._records += 1
            self._live, self._removed = current, removed
            key = self._key
        if self._on_commit is not None and key is not None:
            self._on_commit(key, agent_record)

    def _append(self, data: bytes) -> StatKey:
        """Append one record; returns the file's :data:`StatKey` right after (``fstat``, no path lookup)."""
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        try:
            fd = os.open(self.path, flags, 0o600)
        except FileNotFoundError:  # the folder made when the agent was initialized is gone: a reset
            raise SessionGone(f"session {self.session_id} was deleted; not writing it back") from None
        try:
            written = os.write(fd, data)
            if written != len(data):  # regular files write everything or fail; be explicit anyway
                raise OSError(f"short write to the session journal ({written} of {len(data)} bytes)")
            st = os.fstat(fd)
        finally:
            os.close(fd)
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _replace(self, data: bytes) -> None:
        # Only called while the journal exists: a folder gone meanwhile is a reset, not made again.
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".journal.", suffix=".tmp")
        except FileNotFoundError:
            raise SessionGone(f"session {self.session_id} was deleted; not writing it back") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, self.path)
        except FileNotFoundError:
            Path(tmp).unlink(missing_ok=True)
            raise SessionGone(f"session {self.session_id} was deleted; not writing it back") from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
