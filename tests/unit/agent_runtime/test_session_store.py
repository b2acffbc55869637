"""The session stores (file, S3 on moto) and the throttled stored-stop probe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from strands import Agent
from strands.session.file_session_manager import FileSessionManager

from agent_runtime.config import load_settings
from agent_runtime.errors import ConfigError
from agent_runtime.models.scripted import ScriptedModel, Step
from agent_runtime.session.control import RunControl
from agent_runtime.session.remote_stop import RemoteStop
from agent_runtime.session.store import NullStore, SessionStore, commit, create_store
from agent_runtime.session.store.file import FileStore
from agent_runtime.session.store.s3 import S3Store
from tests.unit.agent_runtime.conftest import SECRET

SID = "5d3c6e8a-1b2c-4d5e-8f90-a1b2c3d4e5f6"
BUCKET = "playbook-sessions"


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionStore]:
    if request.param == "file":
        yield FileStore(tmp_path / "sessions")
        return
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        yield S3Store(bucket=BUCKET, prefix="sessions", region="us-east-1", endpoint_url=None)


def _agent(store: SessionStore, sid: str = SID) -> Agent:
    model = ScriptedModel([Step(text="hello")], name="orchestrator")
    return Agent(
        model=model, agent_id="orchestrator", callback_handler=None, session_manager=store.manager(sid)
    )


def _stored_turn(store: SessionStore, prompt: str) -> Agent:
    """One turn, then the commit ``SessionKeeper.persist`` makes at the end of every turn."""
    agent = _agent(store)
    agent(prompt)
    commit(agent._session_manager, agent)  # type: ignore[attr-defined]
    return agent


def test_conversation_and_state_survive_through_the_strands_session_manager(store: SessionStore) -> None:
    assert store.read_agent_state(SID, "orchestrator") is None
    agent = _agent(store)
    agent("hi there")
    agent.state.set("portal", {"revision": 1, "canvas": {"version": 3}})
    store.manager(SID)  # a second manager on the same session does not reset it
    commit(agent._session_manager, agent)  # type: ignore[attr-defined]
    assert store.read_agent_state(SID, "orchestrator") == {
        "portal": {"revision": 1, "canvas": {"version": 3}}
    }

    restored = Agent(
        model=ScriptedModel([], name="unused"),
        agent_id="orchestrator",
        callback_handler=None,
        session_manager=store.manager(SID),
    )
    assert [m["role"] for m in restored.messages] == ["user", "assistant"]
    assert restored.messages[0]["content"][0]["text"] == "hi there"
    assert restored.state.get("portal")["canvas"]["version"] == 3


def test_stop_flag_needs_a_stored_session_and_reset_deletes_everything(store: SessionStore) -> None:
    assert store.set_stop(SID) is False  # nothing stored: nothing to stop
    assert store.stop_requested(SID) is False
    _stored_turn(store, "hi")
    assert store.set_stop(SID) is True
    assert store.stop_requested(SID) is True
    store.clear_stop(SID)
    store.clear_stop(SID)  # idempotent
    assert store.stop_requested(SID) is False
    store.set_stop(SID)
    store.delete(SID)
    store.delete(SID)  # idempotent
    assert store.read_agent_state(SID, "orchestrator") is None and store.stop_requested(SID) is False
    _stored_turn(store, "fresh start")  # the session can start again after a reset
    assert store.read_agent_state(SID, "orchestrator") == {}


class _CountingStore(NullStore):
    durable = True

    def __init__(self) -> None:
        self.reads = 0
        self.flag = False

    def stop_requested(self, session_id: str) -> bool:
        self.reads += 1
        return self.flag


def test_remote_stop_is_throttled_and_cancels_the_run() -> None:
    store = _CountingStore()
    control = RunControl("run_1")
    probe = RemoteStop(store, SID, control, interval=3600)
    assert probe() is False and probe() is False
    assert store.reads == 1  # the second call was inside the interval
    store.flag = True
    eager = RemoteStop(store, SID, control, interval=0)
    assert eager() is True
    assert control.cancelled and control.reason == "stop"
    assert probe() is True  # a cancelled run answers without reading the store


def test_store_selection_by_configuration(tmp_path: Path) -> None:
    def settings(**env: str) -> Any:
        return load_settings({"AGENT_SIGNING_SECRET": SECRET, **env})

    assert isinstance(create_store(settings(DATA_DIR=str(tmp_path))), FileStore)
    assert (tmp_path / "sessions").is_dir()
    assert isinstance(create_store(settings(SESSION_STORE="none")), NullStore)
    with mock_aws():
        s3 = create_store(settings(SESSION_STORE="s3", SESSION_S3_BUCKET="b", SESSION_S3_PREFIX="p"))
    assert isinstance(s3, S3Store) and (s3.bucket, s3.prefix) == ("b", "p")
    with pytest.raises(ConfigError, match="SESSION_S3_BUCKET"):
        settings(SESSION_STORE="s3")
    with pytest.raises(ConfigError, match="AGENTCORE_MEMORY_ID"):
        settings(SESSION_STORE="agentcore-memory")
    with pytest.raises(ConfigError, match="SESSION_STORE"):
        settings(SESSION_STORE="redis")


def test_a_cut_turns_messages_can_be_truncated_and_the_conversation_goes_on(store: SessionStore) -> None:
    # Stores that write every message as it is added: S3, and the file store for a session kept
    # in Strands' older file layout (the journal commits whole turns: see test_session_journal).
    manager = (
        FileSessionManager(SID, storage_dir=str(store.root))
        if isinstance(store, FileStore)
        else store.manager(SID)
    )
    agent = Agent(
        model=ScriptedModel([Step(text="one"), Step(text="two"), Step(text="three")], name="orchestrator"),
        agent_id="orchestrator",
        callback_handler=None,
        session_manager=manager,
    )
    agent("first")
    agent("second")  # messages 2 and 3: the turn a crash cut before its write
    assert store.truncate_messages(SID, "orchestrator", 2) == 2
    assert store.truncate_messages(SID, "orchestrator", 2) == 0
    model = ScriptedModel([Step(text="again")], name="orchestrator")
    restored = Agent(
        model=model, agent_id="orchestrator", callback_handler=None, session_manager=store.manager(SID)
    )
    assert [block["text"] for m in restored.messages for block in m["content"]] == ["first", "one"]
    restored("second")  # numbered on from the kept messages: nothing of the cut turn comes back
    later = Agent(
        model=ScriptedModel([], name="unused"),
        agent_id="orchestrator",
        callback_handler=None,
        session_manager=store.manager(SID),
    )
    assert [block["text"] for m in later.messages for block in m["content"]] == [
        "first",
        "one",
        "second",
        "again",
    ]
