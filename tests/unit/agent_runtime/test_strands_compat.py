"""The Strands internals behind ``agent_runtime.strands_compat``, pinned to the installed release.

A real Strands agent (driven by the strict scripted model) pauses on a real interrupt and resumes
with an answer; real session managers write real sessions. When ``strands-agents`` is upgraded, the
version test fails first with what to check.
"""

from __future__ import annotations

from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path
from typing import Any

from strands import Agent, tool
from strands.hooks import BeforeToolCallEvent, HookProvider, HookRegistry
from strands.models.model import Model
from strands.session.file_session_manager import FileSessionManager
from strands.types.session import SessionAgent

from agent_runtime.models.scripted import ScriptedModel, Step
from agent_runtime.strands_compat import (
    STRUCTURED_OUTPUT_FLAG,
    TESTED_STRANDS_VERSION,
    FileSessionReader,
    S3SessionReader,
    answered_interrupt_reason,
    clear_interrupts,
    hand_over_state,
    is_paused_on_interrupt,
    session_agent,
    supports_structured_output,
)

SID = "0123456789abcdef0123456789abcdef0"


def test_installed_strands_is_the_release_the_adapter_was_checked_against() -> None:
    assert version("strands-agents") == TESTED_STRANDS_VERSION, (
        "strands-agents changed: check agent_runtime/strands_compat.py against the new release "
        "(Agent._interrupt_state, BeforeToolCallEvent._interrupt_id, FileSessionManager/S3SessionManager "
        "._get_session_path and __init__, Model._supports_structured_output, AgentState._data/_lock/"
        "_version, SessionAgent.from_agent's fields), run this module, then "
        "update TESTED_STRANDS_VERSION"
    )


@tool
def publish(title: str) -> str:
    """Publish a playbook."""
    return f"published {title}"


class _AskFirst(HookProvider):
    def __init__(self) -> None:
        self.seen: list[dict[str, Any] | None] = []

    def register_hooks(self, registry: HookRegistry, **_: Any) -> None:
        registry.add_callback(BeforeToolCallEvent, self._before)

    def _before(self, event: BeforeToolCallEvent) -> None:
        self.seen.append(answered_interrupt_reason(event, "approval"))
        event.interrupt("approval", reason={"summary": "publish it?"})


def test_an_agent_pauses_on_an_interrupt_and_its_answer_is_found() -> None:
    hook = _AskFirst()
    model = ScriptedModel([Step(tool_calls=(("publish", {"title": "Onboarding"}),)), Step(text="Published.")])
    agent = Agent(model=model, tools=[publish], hooks=[hook], callback_handler=None)
    assert not is_paused_on_interrupt(agent)

    paused = agent("publish the playbook")
    assert paused.stop_reason == "interrupt"
    assert is_paused_on_interrupt(agent)
    assert hook.seen == [None]  # not answered yet

    (interrupt,) = paused.interrupts
    done = agent([{"interruptResponse": {"interruptId": interrupt.id, "response": "approve"}}])
    assert done.stop_reason == "end_turn"
    assert hook.seen == [None, {"summary": "publish it?"}]
    assert not is_paused_on_interrupt(agent)
    model.assert_complete()


def test_clear_interrupts_unpauses_the_agent() -> None:
    model = ScriptedModel([Step(tool_calls=(("publish", {"title": "x"}),))])
    agent = Agent(model=model, tools=[publish], hooks=[_AskFirst()], callback_handler=None)
    assert agent("publish").stop_reason == "interrupt"
    clear_interrupts(agent)
    assert not is_paused_on_interrupt(agent)


def test_the_file_reader_finds_what_the_manager_wrote_and_creates_nothing(tmp_path: Path) -> None:
    root = tmp_path / "sessions"
    reader = FileSessionReader(str(root))
    assert not root.exists()  # building the reader has no side effect
    manager = FileSessionManager(SID, storage_dir=str(root))
    Agent(model=ScriptedModel([]), agent_id="writer", session_manager=manager, callback_handler=None)
    folder = Path(reader.session_path(SID))
    assert folder.parent == root and (folder / "session.json").is_file()
    stored = reader.read_agent(SID, "writer")
    assert stored is not None and stored.agent_id == "writer"


def test_the_s3_reader_lays_keys_out_as_strands_does() -> None:
    assert S3SessionReader("bucket", "/pb/", client=None).session_path(SID) == f"pb/session_{SID}/"
    assert S3SessionReader("bucket", "", client=None).session_path(SID) == f"session_{SID}/"


def test_the_structured_output_flag_is_the_one_strands_reads() -> None:
    from strands.models.bedrock import BedrockModel

    assert STRUCTURED_OUTPUT_FLAG in vars(Model) and vars(Model)[STRUCTURED_OUTPUT_FLAG] is False
    assert supports_structured_output(BedrockModel) is True
    assert supports_structured_output(ScriptedModel([])) is False


def test_the_session_record_has_exactly_strands_own_fields_and_values() -> None:
    """``session_agent`` is ``SessionAgent.from_agent`` minus the state's deep copy."""
    model = ScriptedModel([Step(tool_calls=(("publish", {"title": "x"}),))])
    agent = Agent(
        model=model, agent_id="orchestrator", tools=[publish], hooks=[_AskFirst()], callback_handler=None
    )
    agent.state.set("portal", {"canvas": {"modules": [{"title": "Kickoff"}]}, "revision": 3})
    assert agent("publish").stop_reason == "interrupt"  # interrupt state and messages to carry
    ours, theirs = asdict(session_agent(agent)), asdict(SessionAgent.from_agent(agent))
    for stamp in ("created_at", "updated_at"):
        ours.pop(stamp), theirs.pop(stamp)
    assert ours == theirs
    assert ours["_internal_state"]["interrupt_state"]["activated"] is True


def test_a_handed_over_state_value_is_what_the_agent_state_holds() -> None:
    agent = Agent(model=ScriptedModel([]), agent_id="orchestrator", callback_handler=None)
    portal = {"revision": 1, "canvas": {"version": 2}}
    hand_over_state(agent, "portal", portal)
    assert agent.state.get("portal") == portal and agent.state.get() == {"portal": portal}
    assert session_agent(agent).state == {"portal": portal}
