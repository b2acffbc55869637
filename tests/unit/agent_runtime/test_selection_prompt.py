"""The page's selection (``ui_context.selected``): checked against the canvas, shown to the
orchestrator (a strict scripted model reads its system prompt), and acted on by the offline model
through the real agent loop."""

from __future__ import annotations

from typing import Any

import pytest

from agent_runtime.contract import ModuleStatus, PlaybookSpec
from agent_runtime.messages import parse_context
from agent_runtime.models.scripted import ScriptedModel, Step
from agent_runtime.selection import Selection, resolve_selection
from tests.support.sse import check_stream, text_of, tool_calls
from tests.unit.agent_runtime.conftest import SID, ScriptedModels

ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"
PLAYBOOK = PlaybookSpec.model_validate(
    {
        "title": "Client Onboarding",
        "modules": [
            {"title": "Welcome"},
            {"title": "Kickoff", "tasks": [{"title": "Schedule it"}, {"title": "Run it"}]},
            {"title": "Review"},
        ],
    }
)


@pytest.mark.parametrize(
    ("ui_context", "expected"),
    [
        (None, None),
        ({"phase": "outline"}, None),
        ({"selected": {"module_index": 0}}, Selection(0, "Welcome")),
        ({"selected": {"module_index": 1, "task_index": 1}}, Selection(1, "Kickoff", 1, "Run it")),
        ({"selected": {"module_index": 1, "task_index": None, "extra": 1}}, Selection(1, "Kickoff")),
    ],
)
def test_a_selection_that_names_what_is_on_the_canvas(
    ui_context: dict[str, Any] | None, expected: Selection | None
) -> None:
    check = resolve_selection(ui_context, PLAYBOOK)
    assert check.selection == expected and check.note is None


@pytest.mark.parametrize(
    ("selected", "words"),
    [
        ({"module_index": 3}, "named module 4, but the playbook has 3 modules"),
        ({"module_index": 0, "task_index": 0}, 'task 1 of module 1 "Welcome", which has 0 tasks'),
        ({"module_index": "2"}, "form this runtime does not read"),
        ({"module_index": -1}, "form this runtime does not read"),
        ({"task_index": 1}, "form this runtime does not read"),
        ("module 2", "form this runtime does not read"),
    ],
)
def test_a_stale_or_malformed_selection_is_ignored_with_a_note(selected: Any, words: str) -> None:
    check = resolve_selection({"selected": selected}, PLAYBOOK)
    assert check.selection is None
    assert check.note is not None and words in check.note


OUTLINE = {
    "title": "Client Onboarding",
    "modules": [{"title": "Welcome"}, {"title": "Kickoff"}, {"title": "Documents"}, {"title": "Review"}],
}


def _router() -> ScriptedModel:
    decision = {"domain": "playbooks", "handoff_context": "client onboarding"}
    return ScriptedModel([Step(tool_calls=(("RouterDecision", decision),))], name="router")


def chat(harness: Any, prompt: str, ui_context: dict[str, Any] | None) -> list[Any]:
    body = {"session_id": SID, "token": harness.token(), "action": "chat", "prompt": prompt}
    if ui_context is not None:
        body["ui_context"] = ui_context
    frames = harness.run(body)
    check_stream(frames)
    return frames


def test_the_orchestrator_prompt_names_the_selection_or_why_it_was_ignored(make_harness: Any) -> None:
    prompts: list[str] = []

    def record(messages: Any, tools: Any, system_prompt: str | None) -> None:
        prompts.append(system_prompt or "")
        assert {"add_task_step", "set_module_tasks"} <= {t["name"] for t in tools}

    orchestrator = ScriptedModel(
        [
            Step(tool_calls=(("set_playbook_outline", OUTLINE),)),
            Step(text="Here's an outline."),
            Step(text="Done.", check=record),
            Step(text="Done.", check=record),
            Step(text="Done.", check=record),
        ],
        name="orchestrator",
    )
    models = ScriptedModels({"router": [_router()], "orchestrator": [orchestrator]})
    harness = make_harness(models)
    chat(harness, ONBOARDING, None)

    chat(harness, "make this more detailed", {"selected": {"module_index": 2}})
    chat(harness, "make this more detailed", {"selected": {"module_index": 9}})
    chat(harness, "make this more detailed", {"phase": "outline"})
    models.assert_complete()

    selected, stale, none = prompts
    assert "## What the person selected" in selected
    assert 'the whole of module 3 "Documents" (module_index 2)' in selected
    assert parse_context(selected)["selected"] == {"module_index": 2, "module_title": "Documents"}
    assert "named module 10, but the playbook has 4 modules" in stale
    assert "selected" not in parse_context(stale) and parse_context(stale)["selection_note"]
    assert "## What the person selected" not in none and "selected" not in parse_context(none)


def test_the_offline_model_changes_the_selected_module_only(make_harness: Any) -> None:
    harness = make_harness(None)
    first = chat(harness, ONBOARDING, None)
    before = [f.event["snapshot"] for f in first if f.type == "STATE_SNAPSHOT"][-1]["canvas"]

    frames = chat(harness, "make this more detailed", {"selected": {"module_index": 2}})
    after = [f.event["snapshot"] for f in frames if f.type == "STATE_SNAPSHOT"][-1]["canvas"]
    assert {k: v for k, v in after.items() if k != "modules"} == {
        k: v for k, v in before.items() if k != "modules"
    }
    assert len(after["modules"]) == len(before["modules"])
    changed = [i for i, (a, b) in enumerate(zip(before["modules"], after["modules"], strict=True)) if a != b]
    assert changed == [2]
    assert after["modules"][2]["title"] == before["modules"][2]["title"]
    assert len(after["modules"][2]["description"]) > len(before["modules"][2]["description"])
    assert before["modules"][2]["title"] in text_of(frames)

    stale = chat(harness, "remove this", {"selected": {"module_index": 12}})
    assert [f.event["snapshot"] for f in stale if f.type == "STATE_SNAPSHOT"][-1]["canvas"] == after
    assert "no longer matches the canvas" in text_of(stale)


class _Build:
    """A build handle that is running."""

    running = True


def _entry() -> Any:
    from agent_runtime.canvas import Canvas
    from agent_runtime.session.cache import SessionEntry
    from agent_runtime.session.ephemeral import EphemeralState

    canvas = Canvas(PLAYBOOK)
    canvas.set_module_status(0, ModuleStatus.BUILT)
    canvas.apply("add_tasks", {"module_index": 0, "tasks": [{"title": "Greet"}]})
    canvas.set_module_status(1, ModuleStatus.BUILDING)
    return SessionEntry(SID, 1, 1, "copilot", canvas, EphemeralState(SID))


def test_the_orchestrator_leaves_the_tasks_of_a_module_being_built_to_its_builder() -> None:
    from agent_runtime.agents.orchestrator import OrchestratorApplier
    from agent_runtime.canvas import CanvasError

    entry = _entry()
    entry.build = _Build()
    applier = OrchestratorApplier(entry, builds=None)  # type: ignore[arg-type]
    before = entry.canvas.snapshot()
    step = {"module_index": 1, "task_index": 0, "step": {"title": "Record the call"}}
    with pytest.raises(CanvasError) as refused:
        applier.apply("t1", "add_task_step", step)
    assert refused.value.code == "BUILD_RUNNING" and entry.canvas.snapshot() == before
    with pytest.raises(CanvasError):
        applier.apply("t2", "set_module_tasks", {"module_index": 2, "tasks": [{"title": "Prepare"}]})
    # A built module's tasks are the person's to change, build or no build.
    applier.apply("t3", "set_module_tasks", {"module_index": 0, "tasks": [{"title": "Welcome them"}]})
    assert entry.canvas.module(0).tasks[0].title == "Welcome them"
    entry.build = None
    applier.apply("t4", "set_module_tasks", {"module_index": 2, "tasks": [{"title": "Prepare"}]})
    assert entry.canvas.module(2).tasks[0].title == "Prepare"


def test_on_the_bedrock_path_the_selection_reaches_the_model_and_is_acted_on(
    bedrock: Any, make_harness: Any, tmp_path: Any
) -> None:
    fake, harness = bedrock()
    offline = make_harness(None, DATA_DIR=str(tmp_path / "offline"))
    for h in (harness, offline):
        chat(h, ONBOARDING, None)
    selected = {"selected": {"module_index": 1}}
    got, expected = (
        chat(harness, "rename this to Kickoff call", selected),
        chat(offline, "rename this to Kickoff call", selected),
    )
    assert tool_calls(got) == tool_calls(expected)
    assert tool_calls(got)[0] == ("update_module", {"module_index": 1, "title": "Kickoff call"})
    system = fake.by_role("orchestrator")[-1].system_text
    assert "## What the person selected" in system and "(module_index 1)" in system
