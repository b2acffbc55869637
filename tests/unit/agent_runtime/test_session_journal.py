"""The file store's session journal: one appended line per commit, restored exactly.

What a finished turn promises — a crash right after ``RUN_FINISHED`` loses nothing — rests on
:meth:`JournalSessionManager.commit` having written the turn before the terminal event; the
end-to-end check (``kill -9`` at ``RUN_FINISHED``) is in
``tests/integration/test_runtime_durability.py``. These tests pin the journal itself: what one
commit writes, that a restore gives back the agent as committed, and the edges — a torn last
line, another writer, a reset, trimming by the conversation manager, compaction, a turn rolled
back, bytes content, and sessions stored in Strands' older file layout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from strands import Agent
from strands.agent.conversation_manager import SlidingWindowConversationManager
from strands.session.file_session_manager import FileSessionManager

from agent_runtime.models.scripted import ScriptedModel, Step
from agent_runtime.session.store import journal as journal_module
from agent_runtime.session.store.file import FileStore
from agent_runtime.session.store.journal import (
    COMPACT_AFTER,
    JOURNAL_FILE,
    JournalSessionManager,
    SessionGone,
    read_messages,
)

SID = "0b7d3c1e-2f4a-4b5c-9d6e-7f8091a2b3c4"
AGENT_ID = "orchestrator"


def _agent(store: FileStore, replies: list[str], **kwargs: Any) -> Agent:
    return Agent(
        model=ScriptedModel([Step(text=text) for text in replies], name="scripted"),
        agent_id=AGENT_ID,
        callback_handler=None,
        session_manager=store.manager(SID),
        **kwargs,
    )


def _commit(agent: Agent) -> None:
    agent._session_manager.commit(agent)  # type: ignore[attr-defined]


def _journal(store: FileStore) -> Path:
    return store.root / f"session_{SID}" / JOURNAL_FILE


def _records(store: FileStore) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _journal(store).read_text().splitlines()]


def _texts(messages: list[Any]) -> list[str]:
    return [block["text"] for message in messages for block in message["content"] if "text" in block]


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "sessions")


def test_each_commit_appends_one_line_with_only_what_changed(store: FileStore) -> None:
    agent = _agent(store, ["first answer", "second answer"])
    assert isinstance(agent._session_manager, JournalSessionManager)  # type: ignore[attr-defined]
    agent("first question")
    assert not _journal(store).exists()  # nothing is written before the commit
    agent.state.set("portal", {"revision": 1})
    _commit(agent)
    agent("second question")
    agent.state.set("portal", {"revision": 2})
    _commit(agent)

    first, second = _records(store)
    assert _texts(first["add"]) == ["first question", "first answer"]
    assert (second["drop"], second["keep"]) == (0, 2)
    assert _texts(second["add"]) == ["second question", "second answer"]  # not the first turn again
    assert second["agent"]["state"] == {"portal": {"revision": 2}}
    assert "\n  " not in _journal(store).read_text()  # compact, not indented
    assert store.read_agent_state(SID, AGENT_ID) == {"portal": {"revision": 2}}


def test_a_restored_agent_is_the_agent_as_committed(store: FileStore) -> None:
    agent = _agent(store, ["hello"])
    agent("hi")
    agent.state.set("portal", {"canvas": {"version": 3}})
    _commit(agent)

    restored = _agent(store, [])
    assert restored.messages == agent.messages
    assert restored.state.get() == agent.state.get()
    assert restored._interrupt_state.to_dict() == agent._interrupt_state.to_dict()
    assert read_messages(_journal(store)) == agent.messages


def test_a_torn_last_line_is_an_unfinished_commit_and_is_ignored(store: FileStore) -> None:
    agent = _agent(store, ["hello", "more"])
    agent("hi")
    agent.state.set("portal", {"revision": 1})
    _commit(agent)
    agent("again")
    agent.state.set("portal", {"revision": 2})
    _commit(agent)
    raw = _journal(store).read_bytes()
    last_start = raw.rstrip(b"\n").rfind(b"\n") + 1
    _journal(store).write_bytes(raw[: last_start + (len(raw) - last_start) // 2])  # crash mid-write

    assert FileStore(store.root).read_agent_state(SID, AGENT_ID) == {"portal": {"revision": 1}}
    continued = _agent(store, ["after the crash"])
    assert _texts(continued.messages) == ["hi", "hello"]
    continued("next")
    _commit(continued)  # rewrites the journal rather than appending after the torn line
    assert _texts(_agent(store, []).messages) == ["hi", "hello", "next", "after the crash"]


def test_a_commit_after_another_writer_replaces_the_journal_rather_than_mixing(store: FileStore) -> None:
    ours = _agent(store, ["ours 1", "ours 2"])
    ours("question 1")
    _commit(ours)
    theirs = _agent(store, ["theirs"])  # another runtime took the session meanwhile
    theirs("their question")
    _commit(theirs)

    ours("question 2")
    _commit(ours)  # a delta computed on our copy must not land on theirs

    assert len(_records(store)) == 1 and _records(store)[0]["full"] is True
    assert _texts(_agent(store, []).messages) == ["question 1", "ours 1", "question 2", "ours 2"]


def test_a_session_reset_meanwhile_is_not_written_back(store: FileStore) -> None:
    agent = _agent(store, ["hello", "late"])
    agent("hi")
    _commit(agent)
    store.delete(SID)  # reset (here or on another runtime)
    agent("late turn")
    with pytest.raises(SessionGone):
        _commit(agent)
    assert not _journal(store).exists() and store.read_agent_state(SID, AGENT_ID) is None


def test_messages_trimmed_by_the_conversation_manager_are_dropped_not_rewritten(store: FileStore) -> None:
    def windowed(replies: list[str]) -> Agent:
        return _agent(store, replies, conversation_manager=SlidingWindowConversationManager(window_size=4))

    agent = windowed([f"answer {n}" for n in range(4)])
    for n in range(4):
        agent(f"question {n}")
        _commit(agent)

    records = _records(store)
    assert records[-1]["drop"] > 0 and len(records[-1]["add"]) == 2  # trimmed at the front, two added
    restored = windowed([])
    assert restored.messages == agent.messages
    assert (
        restored.conversation_manager.removed_message_count
        == agent.conversation_manager.removed_message_count
    )


def test_a_rolled_back_turn_is_not_stored(store: FileStore) -> None:
    agent = _agent(store, ["kept", "discarded"])
    agent("kept question")
    _commit(agent)
    saved = list(agent.messages)
    agent("failed question")
    agent.messages[:] = saved  # what run_orchestrator does when the model fails
    _commit(agent)
    assert _texts(_agent(store, []).messages) == ["kept question", "kept"]


def test_the_journal_is_compacted_into_one_record(store: FileStore) -> None:
    agent = _agent(store, [f"answer {n}" for n in range(COMPACT_AFTER + 1)])
    for n in range(COMPACT_AFTER + 1):
        agent(f"question {n}")
        _commit(agent)
    records = _records(store)
    assert len(records) < COMPACT_AFTER
    assert records[0]["full"] is True
    assert _agent(store, []).messages == agent.messages


def test_bytes_content_round_trips(store: FileStore) -> None:
    agent = _agent(store, ["seen"])
    image = {"image": {"format": "png", "source": {"bytes": b"\x89PNG\r\n\x00binary"}}}
    agent([{"text": "look"}, image])  # type: ignore[list-item]
    _commit(agent)
    restored = _agent(store, [])
    assert restored.messages[0]["content"][1] == image


def test_reading_the_state_back_after_our_own_commit_costs_a_stat(
    store: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = _agent(store, ["hello"])
    agent("hi")
    agent.state.set("portal", {"stamp": "abc"})
    _commit(agent)
    reads: list[Path] = []
    real = journal_module.read_last_agent
    monkeypatch.setattr(
        "agent_runtime.session.store.file.read_last_agent", lambda path: reads.append(path) or real(path)
    )
    assert store.read_agent_state(SID, AGENT_ID) == {"portal": {"stamp": "abc"}}
    assert reads == []
    other = FileStore(store.root)  # another process: reads the tail once, then caches it
    assert other.read_agent_state(SID, AGENT_ID) == {"portal": {"stamp": "abc"}}
    assert other.read_agent_state(SID, AGENT_ID) == {"portal": {"stamp": "abc"}}
    assert len(reads) == 1


def test_a_session_stored_in_the_older_file_layout_keeps_working(store: FileStore) -> None:
    legacy = Agent(
        model=ScriptedModel([Step(text="from before")], name="scripted"),
        agent_id=AGENT_ID,
        callback_handler=None,
        session_manager=FileSessionManager(SID, storage_dir=str(store.root)),
    )
    legacy("old question")
    legacy.state.set("portal", {"revision": 7})
    legacy._session_manager.sync_agent(legacy)  # type: ignore[attr-defined]

    assert store.read_agent_state(SID, AGENT_ID) == {"portal": {"revision": 7}}
    assert store.set_stop(SID) is True
    store.clear_stop(SID)
    continued = _agent(store, ["still here"])
    assert isinstance(continued._session_manager, FileSessionManager)  # type: ignore[attr-defined]
    assert _texts(continued.messages) == ["old question", "from before"]
    continued("new question")
    assert _texts(_agent(store, []).messages) == ["old question", "from before", "new question", "still here"]


def test_a_stop_from_another_runtime_reaches_a_session_before_its_first_commit(store: FileStore) -> None:
    assert store.set_stop(SID) is False  # no such session
    _agent(store, [])  # the first turn created the orchestrator; nothing is committed yet
    assert store.read_agent_state(SID, AGENT_ID) is None
    assert store.set_stop(SID) is True and store.stop_requested(SID) is True


def test_a_turn_cut_before_its_commit_leaves_nothing_to_truncate(store: FileStore) -> None:
    agent = _agent(store, ["one", "two"])
    agent("first")
    _commit(agent)
    agent("second")  # a crash here: the turn never reached its commit
    assert store.truncate_messages(SID, AGENT_ID, 2) == 0
    assert _texts(_agent(store, []).messages) == ["first", "one"]


def test_strands_own_mid_turn_sync_writes_nothing(store: FileStore) -> None:
    """Strands syncs the session mid-turn after reducing an overflowing context: no half turn is stored."""
    agent = _agent(store, ["hello"])
    agent("hi")
    agent._session_manager.sync_agent(agent)  # type: ignore[attr-defined]
    assert not _journal(store).exists()
    _commit(agent)
    assert len(_records(store)) == 1


def test_a_session_reset_before_its_first_commit_is_not_written_back(store: FileStore) -> None:
    agent = _agent(store, ["hello"])
    agent("first turn, still running")
    store.delete(SID)  # reset on another runtime while the first turn runs
    with pytest.raises(SessionGone):
        _commit(agent)
    assert not _journal(store).parent.exists() and store.read_agent_state(SID, AGENT_ID) is None


def test_a_reset_racing_a_full_rewrite_is_not_undone(
    store: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal was seen (another writer changed it: a full rewrite), then its folder vanished."""
    agent = _agent(store, ["hello", "again"])
    agent("hi")
    _commit(agent)
    agent("more")
    journal = _journal(store)
    seen = journal_module.stat_key(journal)
    store.delete(SID)  # the reset lands between the check and the rewrite
    monkeypatch.setattr(journal_module, "stat_key", lambda path: (0, 0, 0) if seen else None)
    with pytest.raises(SessionGone):
        _commit(agent)
    assert not journal.parent.exists()
