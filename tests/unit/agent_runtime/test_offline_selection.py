"""The offline planner's edits of one item — the selected module or task, or one named by number —
applied to a real Canvas: only that item changes (the whole canvas is compared before and after)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from agent_runtime.canvas import Canvas
from agent_runtime.contract import TOOL_ARGS, ModuleStatus
from agent_runtime.models.offline import Reply, plan_turn
from agent_runtime.models.offline._items import DETAIL_FILE, load_detail

TITLES = ["Welcome", "Kickoff Meeting", "Document Collection", "Security Review", "30-Day Review"]
TASKS = [
    {
        "title": "Schedule the kickoff",
        "steps": [{"title": "Confirm attendees"}, {"title": "Send the invite"}],
    },
    {"title": "Run the kickoff", "steps": [{"title": "Walk through goals"}, {"title": "Agree the timeline"}]},
    {"title": "Follow up on the kickoff", "steps": [{"title": "Send notes"}, {"title": "Log actions"}]},
]


def make_canvas(*, built: bool = False) -> Canvas:
    canvas = Canvas()
    canvas.apply(
        "set_playbook_outline",
        {
            "title": "Client Onboarding Playbook",
            "modules": [{"title": t, "description": f"About {t}."} for t in TITLES],
        },
    )
    if built:
        for index in range(len(TITLES)):
            canvas.apply("add_tasks", {"module_index": index, "tasks": copy.deepcopy(TASKS)})
            canvas.set_module_status(index, ModuleStatus.BUILT)
    return canvas


def run(canvas: Canvas, prompt: str, selected: dict[str, Any] | None = None) -> tuple[list[Reply], str]:
    """Plan the turn and apply every tool call as the runtime would; returns the replies and the text."""
    snap = canvas.snapshot()
    replies = plan_turn(prompt, snap["canvas"], snap["phase"], selected=selected)
    for reply in replies:
        for tool_call in reply.tool_calls:
            TOOL_ARGS[tool_call.name].model_validate(tool_call.args)
            canvas.apply(tool_call.name, tool_call.args)
    return replies, " ".join(r.text for r in replies if r.text)


def modules(canvas: Canvas) -> list[dict[str, Any]]:
    return canvas.snapshot()["canvas"]["modules"]


def changed_only(before: list[dict[str, Any]], after: list[dict[str, Any]], index: int) -> dict[str, Any]:
    """Assert every module but ``index`` is exactly as before; return module ``index`` after."""
    assert len(before) == len(after)
    for i, (old, new) in enumerate(zip(before, after, strict=True)):
        if i != index:
            assert new == old, f"module {i} changed"
    assert after[index] != before[index], "the target did not change"
    return after[index]


@pytest.mark.parametrize(
    ("prompt", "selected"),
    [
        ("make this more detailed", {"module_index": 2}),
        ("Make it more detailed please", {"module_index": 2}),
        ("add more detail", {"module_index": 2}),
        ("make module 3 more detailed", None),
        ("expand module 3", None),
        ("add more detail to the document collection module", None),
    ],
)
def test_more_detail_on_an_outline_module_details_its_description_only(
    prompt: str, selected: dict[str, Any] | None
) -> None:
    canvas = make_canvas()
    before = modules(canvas)
    run(canvas, prompt, selected)
    module = changed_only(before, modules(canvas), 2)
    assert module["title"] == "Document Collection"
    assert module["description"].startswith("About Document Collection. " + load_detail().covers_lead)
    assert len(module["description"]) > len(before[2]["description"]) + 30


def test_make_module_2_more_detailed_never_adds_a_module() -> None:
    canvas = make_canvas()
    replies, text = run(canvas, "make module 2 more detailed")
    assert [m["title"] for m in modules(canvas)] == TITLES
    assert "add_module" not in [c.name for r in replies for c in r.tool_calls]
    assert "Kickoff Meeting" in text


def test_more_detail_on_a_built_module_adds_a_step_to_each_of_its_tasks() -> None:
    canvas = make_canvas(built=True)
    before = modules(canvas)
    run(canvas, "make this more detailed", {"module_index": 2})
    module = changed_only(before, modules(canvas), 2)
    first = load_detail().steps[0]
    for old, new in zip(before[2]["tasks"], module["tasks"], strict=True):
        assert new["steps"] == [*old["steps"], {"title": first, "description": ""}]


def test_more_detail_on_a_selected_task_adds_steps_to_that_task_only() -> None:
    canvas = make_canvas(built=True)
    before = modules(canvas)
    _, text = run(canvas, "make this more detailed", {"module_index": 2, "task_index": 1})
    module = changed_only(before, modules(canvas), 2)
    assert module["tasks"][0] == before[2]["tasks"][0] and module["tasks"][2] == before[2]["tasks"][2]
    added = module["tasks"][1]["steps"][len(before[2]["tasks"][1]["steps"]) :]
    assert [s["title"] for s in added] == load_detail().steps[:2]
    assert "Run the kickoff" in text


def test_rename_this_renames_the_selected_module_or_task() -> None:
    canvas = make_canvas(built=True)
    before = modules(canvas)
    run(canvas, "rename this to Kickoff call", {"module_index": 1})
    assert changed_only(before, modules(canvas), 1)["title"] == "Kickoff call"

    before = modules(canvas)
    run(canvas, "rename this to Kickoff call", {"module_index": 2, "task_index": 0})
    module = changed_only(before, modules(canvas), 2)
    assert [t["title"] for t in module["tasks"]] == [
        "Kickoff call",
        "Run the kickoff",
        "Follow up on the kickoff",
    ]
    assert module["tasks"][0]["steps"] == before[2]["tasks"][0]["steps"]


def test_remove_this_removes_the_selected_task_or_module() -> None:
    canvas = make_canvas(built=True)
    before = modules(canvas)
    run(canvas, "remove this", {"module_index": 3, "task_index": 1})
    module = changed_only(before, modules(canvas), 3)
    assert [t["title"] for t in module["tasks"]] == ["Schedule the kickoff", "Follow up on the kickoff"]

    outline = make_canvas()
    run(outline, "remove this", {"module_index": 3})
    assert [m["title"] for m in modules(outline)] == [t for t in TITLES if t != "Security Review"]


def test_add_a_step_goes_to_the_selected_task() -> None:
    canvas = make_canvas(built=True)
    before = modules(canvas)
    _, text = run(canvas, "add a step about recording the call", {"module_index": 1, "task_index": 1})
    module = changed_only(before, modules(canvas), 1)
    assert module["tasks"][1]["steps"][-1] == {"title": "Record the call", "description": ""}
    assert "Record the call" in text


def test_named_tasks_without_a_selection() -> None:
    canvas = make_canvas(built=True)
    before = modules(canvas)
    run(canvas, "remove task 2 of module 1")
    assert [t["title"] for t in changed_only(before, modules(canvas), 0)["tasks"]] == [
        "Schedule the kickoff",
        "Follow up on the kickoff",
    ]
    before = modules(canvas)
    run(canvas, "rename task 3 of module 2 to Wrap-up")
    assert changed_only(before, modules(canvas), 1)["tasks"][2]["title"] == "Wrap-up"
    before = modules(canvas)
    run(canvas, "add a step to task 1 of module 4 about sending the agenda")
    assert changed_only(before, modules(canvas), 3)["tasks"][0]["steps"][-1]["title"] == "Send the agenda"
    before = modules(canvas)
    run(canvas, "rename module 3 to Paperwork")
    assert changed_only(before, modules(canvas), 2)["title"] == "Paperwork"


def test_an_explicit_module_wins_over_the_selection() -> None:
    canvas = make_canvas()
    before = modules(canvas)
    run(canvas, "rename module 5 to Review", {"module_index": 1})
    assert changed_only(before, modules(canvas), 4)["title"] == "Review"


@pytest.mark.parametrize("prompt", ["make this more detailed", "rename this to X", "remove this"])
def test_this_without_a_selection_asks_which_and_changes_nothing(prompt: str) -> None:
    canvas = make_canvas()
    before = canvas.snapshot()
    _, text = run(canvas, prompt)
    assert canvas.snapshot() == before
    assert "Select a module or task" in text


def test_an_ignored_selection_is_explained() -> None:
    canvas = make_canvas()
    snap = canvas.snapshot()
    replies = plan_turn(
        "make this more detailed",
        snap["canvas"],
        snap["phase"],
        selection_note="the page's selection was stale",
    )
    assert not [c for r in replies for c in r.tool_calls if c.name != "suggest_replies"]
    assert "no longer matches the canvas" in " ".join(r.text or "" for r in replies)


def test_the_only_task_of_a_module_is_not_removed() -> None:
    canvas = make_canvas()
    canvas.apply("add_tasks", {"module_index": 0, "tasks": [TASKS[0]]})
    before = canvas.snapshot()
    _, text = run(canvas, "remove this", {"module_index": 0, "task_index": 0})
    assert canvas.snapshot() == before and "only task" in text


def test_task_edits_wait_for_a_module_being_built() -> None:
    canvas = make_canvas()
    canvas.apply("build_modules", {})
    canvas.apply("add_tasks", {"module_index": 1, "tasks": copy.deepcopy(TASKS)})
    canvas.set_module_status(1, ModuleStatus.BUILDING)
    before = canvas.snapshot()
    _, text = run(canvas, "remove this", {"module_index": 1, "task_index": 0})
    assert canvas.snapshot() == before and "being built" in text


def test_the_detail_data_file_follows_its_schema() -> None:
    data = load_detail(DETAIL_FILE)
    assert data.covers_lead and len(set(data.steps)) == len(data.steps)


def test_two_edits_of_the_selection_in_one_message() -> None:
    canvas = make_canvas(built=True)
    before = modules(canvas)
    run(canvas, "rename this to Kickoff call and make it more detailed", {"module_index": 1, "task_index": 1})
    task = changed_only(before, modules(canvas), 1)["tasks"][1]
    assert task["title"] == "Kickoff call"
    assert [s["title"] for s in task["steps"]] == [
        *(s["title"] for s in before[1]["tasks"][1]["steps"]),
        *load_detail().steps[:2],
    ]
